import duckdb

from pipeline.extract.near_duplicates import cluster_rows, signature

STORY = (
    "The harbour authority said on Monday it would spend 40 million pounds on new flood pumps along the "
    "eastern quay, after two winters in which storm surges reached the warehouses. The work is due to start "
    "in March and finish before the autumn tides, the authority's chief engineer told a council meeting, "
    "adding that the old pumps had been installed in 1978 and could no longer be repaired."
)


def test_signature_is_deterministic_and_fixed_size():
    assert signature(STORY) == signature(STORY)
    assert len(signature(STORY)) == 128
    assert len(signature("")) == 128


def test_a_lightly_edited_copy_clusters_with_the_original_and_other_stories_do_not():
    repost = "UPDATE 1-" + STORY.replace("told a council meeting", "told a packed council meeting")
    other = STORY.replace("harbour", "airport").replace("flood pumps", "runway lights").replace("quay", "apron")
    unrelated = "Storm Bertilde left forty thousand homes without power across the north on Monday night."
    rows = cluster_rows(
        {"b": signature(repost), "a": signature(STORY), "c": signature(unrelated), "d": signature(other)}
    )
    assert {r["doc_id"]: r["cluster_id"] for r in rows} == {"a": "a", "b": "a"}
    assert all(0.8 <= r["similarity"] <= 1.0 for r in rows)


def test_sample_repost_and_exact_duplicate_are_clustered(sample_lake):
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        clusters = con.execute(
            """
            select list(source_path order by source_path) from documents
            where near_duplicate_cluster is not null group by near_duplicate_cluster order by 1
            """
        ).fetchall()
    assert [sorted(p.split("/")[-1] for p in paths) for (paths,) in clusters] == [
        ["002_439084c1bf21b325.txt", "013_5e1c0a7d92b4f6e3.txt"],
        ["002_14593f54db092681.txt", "013_db1601775c8f4cef.txt"],
    ]

import duckdb
import numpy as np
import pytest
from datasketch import LeanMinHash, MinHashLSH

from pipeline.extract.near_duplicates import NUM_PERM, THRESHOLD, cluster_rows, signature

pytestmark = pytest.mark.integration

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
    texts = {"b": repost, "a": STORY, "c": unrelated, "d": other}
    rows = cluster_rows(list(texts), np.array([signature(text) for text in texts.values()], dtype=np.uint32))
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


def clusters_by_datasketch(doc_ids: list[str], sigs: np.ndarray) -> dict[str, set[str]]:
    """The reference: datasketch's own MinHashLSH, queried document by document, matches verified."""
    hashes = {
        d: LeanMinHash(seed=1, hashvalues=row.astype(np.uint64), scheme="legacy")
        for d, row in zip(doc_ids, sigs, strict=True)
    }
    lsh, groups = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM), {d: {d} for d in doc_ids}
    for doc_id, minhash in hashes.items():
        for other in lsh.query(minhash):
            if minhash.jaccard(hashes[other]) >= THRESHOLD:
                merged = groups[doc_id] | groups[other]
                for member in merged:
                    groups[member] = merged
        lsh.insert(doc_id, minhash)
    return {d: g for d, g in groups.items() if len(g) > 1}


def test_clusters_are_those_of_datasketchs_lsh_on_many_documents():
    rng = np.random.default_rng(7)
    originals = rng.integers(0, 2**32, (3000, NUM_PERM), dtype=np.uint64)
    copies = []  # near-duplicates at Jaccard about 0.97, 0.85 and 0.7 (the last mostly below the threshold)
    for keep in (0.97, 0.85, 0.7):
        edited = originals[rng.choice(len(originals), 200, replace=False)].copy()
        changed = rng.random(edited.shape) > keep
        edited[changed] = rng.integers(0, 2**32, changed.sum(), dtype=np.uint64)
        copies.append(edited)
    sigs = np.vstack([originals, *copies])
    doc_ids = [f"d{i:05d}" for i in rng.permutation(len(sigs))]
    rows = cluster_rows(doc_ids, sigs)
    ours: dict[str, set[str]] = {}
    for row in rows:
        ours.setdefault(row["cluster_id"], set()).add(row["doc_id"])
    expected = clusters_by_datasketch(doc_ids, sigs)
    assert {r["doc_id"]: ours[r["cluster_id"]] for r in rows} == expected
    assert len(expected) > 300  # the test has clusters to find
    assert all(r["cluster_id"] == min(ours[r["cluster_id"]]) for r in rows)

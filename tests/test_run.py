"""The whole path over the shipped sample corpus: every file accounted for, offsets exact, commits atomic."""

import shutil
from pathlib import Path

import deltalake
import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings, sample_files
from pipeline.analysis import extract_texts
from pipeline.errors import UserError
from pipeline.lake import committed_runs, read_shard_inputs
from pipeline.locks import release
from pipeline.run import commit_run, plan_run, process_shard, run_partition, shard_count
from pipeline.views import build_database

pytestmark = pytest.mark.integration


def db(settings):
    return duckdb.connect(str(settings.db), read_only=True)


def test_every_sample_file_is_a_document_or_a_reject(sample_lake):
    with db(sample_lake) as con:
        for day in SAMPLE_DATES:
            on_disk = {p.relative_to(SAMPLE_RAW).as_posix() for p in sample_files(day)}
            docs = {r[0] for r in con.execute("select source_path from documents where date = ?", [day]).fetchall()}
            rejects = {r[0] for r in con.execute("select source_path from rejects where date = ?", [day]).fetchall()}
            assert docs | rejects == on_disk
            assert not docs & rejects
            run = con.execute("select files_seen, documents, rejects from runs where date = ? and is_current", [day])
            assert run.fetchone() == (len(on_disk), len(docs), len(rejects))


def test_sample_specials_are_handled(sample_lake):
    with db(sample_lake) as con:
        reasons = dict(con.execute("select reason, count(*) from rejects group by reason").fetchall())
        assert reasons == {"empty file": 1, "no text: file holds only whitespace": 1}
        assert con.execute("select count(*) from documents where encoding = 'cp1252'").fetchone() == (1,)
        dup = con.execute(
            "select d.text = o.text, d.n_tokens from documents d join documents o on d.duplicate_of = o.doc_id"
        ).fetchall()
        assert dup == [(True, None)]


def test_entity_and_sentence_offsets_reproduce_the_text(sample_lake):
    with db(sample_lake) as con:
        texts = dict(con.execute("select doc_id, text from documents").fetchall())
        entities = con.execute("select doc_id, start_char, end_char, text from entities").fetchall()
        sentences = con.execute("select doc_id, start_char, end_char from sentences").fetchall()
    assert len(entities) > 300
    for doc_id, start, end, text in entities:
        assert texts[doc_id][start:end] == text
    for doc_id, start, end in sentences:
        assert 0 <= start < end <= len(texts[doc_id])


def table_rows(settings, table):
    """A table's current rows as a sorted list, without the run id, for comparing two runs."""
    with db(settings) as con:
        rows = con.execute(f"select * exclude (run_id) from {table}").fetchall()
    return sorted(rows, key=repr)


def test_rerun_replaces_the_partition_with_the_same_rows(tmp_path):
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    day = SAMPLE_DATES[0]
    first = run_partition(settings, day)
    build_database(settings.lake, settings.db)
    before = {t: table_rows(settings, t) for t in ("documents", "sentences", "entities", "rejects")}
    second = run_partition(settings, day, workers=2, force=True)  # another shard split gives the same rows
    assert second["shards"] == 2
    after = {t: table_rows(settings, t) for t in before}
    assert after == before
    assert committed_runs(settings.lake, day.isoformat()) == [first["run_id"], second["run_id"]]


def test_a_partition_appears_only_when_committed(tmp_path):
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    day = SAMPLE_DATES[1]
    run_partition(settings, day)
    build_database(settings.lake, settings.db)
    old = table_rows(settings, "entities")
    # A second run writes all its shards but dies before the commit: readers still see the first run.
    plan = plan_run(settings, day, workers=2, force=True)
    process_shard(settings, plan["run_id"], 0)
    process_shard(settings, plan["run_id"], 1)
    assert table_rows(settings, "entities") == old
    with db(settings) as con:
        assert con.execute("select count(distinct run_id) from documents").fetchone() == (1,)
    commit_run(settings, plan["run_id"])
    with db(settings) as con:  # the views list the files of each date's current run when they are built
        assert con.execute("select count(distinct run_id) from documents").fetchone() == (1,)
    build_database(settings.lake, settings.db)
    with db(settings) as con:
        assert con.execute("select distinct run_id from documents").fetchall() == [(plan["run_id"],)]


def test_commit_refuses_a_run_with_a_missing_shard(tmp_path):
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    plan = plan_run(settings, SAMPLE_DATES[2], workers=2)
    process_shard(settings, plan["run_id"], 1)
    with pytest.raises(UserError, match="shard 0 has not finished"):
        commit_run(settings, plan["run_id"])
    assert committed_runs(settings.lake, SAMPLE_DATES[2].isoformat()) == []


def test_superseded_runs_leave_the_table_but_stay_for_time_travel(tmp_path):
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    day = SAMPLE_DATES[0]
    runs = [run_partition(settings, day, force=True)["run_id"] for _ in range(3)]
    table = deltalake.DeltaTable(str(settings.lake / "documents"))
    assert {Path(f).name.rsplit("-", 1)[0] for f in table.file_uris()} == {runs[-1]}
    for version, run_id in enumerate(runs):
        rows = deltalake.DeltaTable(str(settings.lake / "documents"), version=version).to_pyarrow_table()
        assert set(rows["run_id"].to_pylist()) == {run_id}


def test_one_parquet_file_per_table_per_shard_with_zstd(sample_lake):
    for table in ("documents", "sentences", "entities", "rejects"):
        files = list((sample_lake.lake / table / f"date={SAMPLE_DATES[0]}").glob("*.parquet"))
        assert len(files) == 1
        meta = pq.ParquetFile(files[0]).metadata
        assert meta.num_row_groups == 1
        assert meta.row_group(0).column(0).compression == "ZSTD"


def test_a_missing_landing_folder_is_an_error_or_an_empty_partition(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(UserError, match="no landing folder"):
        run_partition(settings, SAMPLE_DATES[0])
    row = run_partition(settings, SAMPLE_DATES[0], allow_missing=True)
    assert (row["files_seen"], row["documents"], row["rejects"]) == (0, 0, 0)
    build_database(settings.lake, settings.db)
    with db(settings) as con:
        assert con.execute("select count(*) from documents").fetchone() == (0,)


@pytest.mark.parametrize(
    ("files", "per_shard", "workers", "expected"),
    [
        (0, 1000, 1, 1),
        (10, 1000, 1, 1),
        (10, 1000, 2, 2),
        (2500, 1000, 2, 4),
        (3, 1000, 8, 3),
        (10**7, 10, 1, 1024),
    ],
)
def test_shard_count(files, per_shard, workers, expected):
    assert shard_count(files, per_shard, workers) == expected


def test_rerun_takes_over_unchanged_files_and_analyses_the_rest(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    day = SAMPLE_DATES[2]
    shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw)
    run_partition(settings, day)
    build_database(settings.lake, settings.db)
    first = {t: table_rows(settings, t) for t in ("documents", "sentences", "entities", "rejects")}

    unchanged = plan_run(settings, day)
    assert (unchanged["n_fresh"], unchanged["n_shards"]) == (1, 2)
    assert read_shard_inputs(settings.lake, unchanged["run_id"], 0) == []  # nothing to analyse
    process_shard(settings, unchanged["run_id"], 0)
    commit_run(settings, unchanged["run_id"])
    assert {t: table_rows(settings, t) for t in first} == first

    # One file edited, one added: only those two are analysed.
    edited = sorted((raw / day.isoformat()).glob("00*.txt"))[0]
    edited.write_text(edited.read_text() + "\nCorrection: Mette Kragh spoke in Oslo, not Bergen.\n")
    (raw / day.isoformat() / "099_late.txt").write_text("Late story\n\nHARWICK, Nov 25 - Anna Berg said it was late.\n")
    changed = plan_only(settings, day)
    assert sorted(f.source_path for f in read_shard_inputs(settings.lake, changed["run_id"], 0)) == sorted(
        [edited.relative_to(raw).as_posix(), f"{day}/099_late.txt"]
    )

    # A new extractor version (or model) analyses everything again, and so does force.
    monkeypatch.setattr("pipeline.run.pipeline_version", lambda *_: "test-version")
    assert plan_only(settings, day)["n_shards"] == 1
    monkeypatch.undo()
    assert plan_only(settings, day, force=True)["reused_from"] is None


def plan_only(settings, day, **options):
    """A plan looked at and dropped: its lock is freed, as a failed run's is."""
    plan = plan_run(settings, day, **options)
    release(settings.lake, day.isoformat(), plan["run_id"])
    return plan


def test_extract_texts_gives_every_table_also_for_text_not_analysed(tmp_path):
    russian = "Центральный банк повысил ключевую ставку до шестнадцати процентов годовых, сообщил регулятор. " * 3
    english = "Clara Hoffmann said on Monday that the bank would raise rates. Hoffmann left for Berlin."
    rows = dict(extract_texts(make_settings(tmp_path), [("ru", russian), ("en", english)]))
    assert rows["ru"] == {"sentences": [], "entities": [], "quotes": []}
    assert rows["en"]["entities"] and rows["en"]["sentences"]
    for table, column in (("sentences", "sentence_idx"), ("entities", "entity_idx")):
        assert [r[column] for r in rows["en"][table]] == list(range(len(rows["en"][table])))


def test_a_file_gone_between_plan_and_shard_is_a_reject_and_is_read_again_next_run(tmp_path):
    day = SAMPLE_DATES[0]
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw)
    victim = sorted((raw / day.isoformat()).glob("0*.txt"))[0]
    kept = victim.read_bytes()
    plan = plan_run(settings, day)
    victim.unlink()  # e.g. a store's object deleted or unreachable while the shard runs
    process_shard(settings, plan["run_id"], 0)
    commit_run(settings, plan["run_id"])
    source_path = victim.relative_to(raw).as_posix()
    rejects = pq.read_table(settings.lake / "rejects").to_pylist()
    assert [r["reason"] for r in rejects if r["source_path"] == source_path] == [
        "unreadable: No such file or directory"
    ]

    victim.write_bytes(kept)
    rerun = plan_run(settings, day)
    assert [f.source_path for f in read_shard_inputs(settings.lake, rerun["run_id"], 0)] == [source_path]

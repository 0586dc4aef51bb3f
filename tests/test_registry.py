"""The table registry: a table declared once is written, committed, carried over, viewed and published as an
asset without touching anything else; and a change to the extraction code reprocesses every file."""

import json
import os
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pytest

from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.lake import RUNS_DIR, read_run_table
from pipeline.registry import TABLES
from pipeline.run import run_partition
from pipeline.tables import Table
from pipeline.version import code_digest
from pipeline.views import build_database

pytestmark = pytest.mark.integration


def topic_rows(part):
    """A toy extractor: one row per sentence that names a place, reading the entities extracted before it."""
    places = [e for e in part.rows["entities"] if e["label"] == "GPE"]
    return [
        {"doc_id": part.doc_id, "topic_idx": i, "topic": place["canonical_key"], "start_char": place["start_char"]}
        for i, place in enumerate(places)
    ]


TOPICS = Table(
    "topics",
    "A toy table for the tests: the places a document names.",
    (
        ("doc_id", pa.string(), "the document"),
        ("topic_idx", pa.int32(), "0, 1, 2..."),
        ("topic", pa.string(), "a place's canonical key"),
        ("start_char", pa.int64(), "where it is named"),
    ),
    index="topic_idx",
    extract=topic_rows,
)


@pytest.fixture
def topics_registered():
    """A test-only registration: the one line a new table needs, undone afterwards."""
    TABLES.insert(TABLES.index(next(t for t in TABLES if t.name == "quotes")) + 1, TOPICS)
    try:
        yield TOPICS
    finally:
        TABLES.remove(TOPICS)


def test_a_table_added_to_the_registry_goes_everywhere(topics_registered, tmp_path):
    day = SAMPLE_DATES[0]
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw)

    first = run_partition(settings, day)
    topics = read_run_table(settings.lake, TOPICS, day.isoformat(), first["run_id"]).to_pylist()
    assert topics and first["rows"]["topics"] == len(topics)  # shard files and the commit's counts
    edited = sorted((raw / day.isoformat()).glob("0*.txt"))[0]
    edited.write_text(edited.read_text() + "\nOfficials in Lisbon agreed.\n")

    second = run_partition(settings, day)  # one file analysed, the rest carried over
    receipts = sorted((settings.lake / RUNS_DIR / second["run_id"]).glob("shard-*.json"))
    carried = json.loads(receipts[-1].read_text())
    assert carried["rows"]["topics"] > 0  # the carry-over shard took the unchanged documents' topics
    assert second["rows"]["topics"] >= len(topics)

    build_database(settings.lake, settings.db)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        assert con.execute("select count(*) from topics").fetchone() == (second["rows"]["topics"],)
        assert con.execute("select count(distinct run_id) from lake.topics").fetchone() == (1,)


def test_a_table_added_to_the_registry_is_an_asset(topics_registered):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    outlets = {asset.name for asset in bag.dags["news_nightly"].get_task("commit").outlets}
    assert outlets == {f"news_lake_{t.name}" for t in TABLES if t.name != "checks"}  # checks: the check task's
    assert "news_lake_topics" in outlets


def run_cli(package_root, data_root, day) -> dict:
    """news-etl run with the pipeline package found at package_root; returns the run's plan."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")} | {"PYTHONPATH": str(package_root)}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main())", "run"]
        + ["--date", day, "--data-root", str(data_root), "--raw-root", str(SAMPLE_RAW), "--no-views"],
        env=env,
        cwd=data_root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.splitlines()[0].rsplit("run ", 1)[1]
    return json.loads((data_root / "lake" / RUNS_DIR / run_id / "plan.json").read_text())


def test_changed_extraction_code_analyses_every_file_again(tmp_path):
    scratch = tmp_path / "code"
    shutil.copytree(REPO / "pipeline", scratch / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "sql", scratch / "sql")  # the checks that run after each commit
    data = tmp_path / "data"
    data.mkdir()
    day = SAMPLE_DATES[0].isoformat()

    first = run_cli(scratch, data, day)
    same = run_cli(scratch, data, day)  # unchanged code: everything is taken over
    assert same["reused_from"] == first["run_id"] and same["pipeline_version"] == first["pipeline_version"]

    titles = scratch / "pipeline" / "extract" / "titles.py"
    titles.write_text(titles.read_text().replace("MAX_TITLE_CHARS = 250", "MAX_TITLE_CHARS = 120"))
    changed = run_cli(scratch, data, day)
    assert changed["pipeline_version"] != first["pipeline_version"]
    assert changed["reused_from"] is None and changed["n_shards"] == changed["n_fresh"]  # no carry-over shard
    assert first["files_seen"] == changed["files_seen"] > 0

    # Comments and formatting are not code that decides rows.
    titles.write_text(titles.read_text().replace("MAX_TITLE_CHARS = 120", "MAX_TITLE_CHARS = (120)  # shorter"))
    assert run_cli(scratch, data, day)["reused_from"] == changed["run_id"]


def test_retrained_weights_change_the_version(tmp_path):
    """The reported-speech scorer's weights decide rows as code does: retraining re-analyses every file."""
    scratch = tmp_path / "pipeline"
    shutil.copytree(REPO / "pipeline", scratch, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest.__wrapped__(scratch)
    weights = scratch / "extract" / "reported_scorer.json"
    saved = json.loads(weights.read_text(encoding="utf-8"))
    weights.write_text(json.dumps(saved | {"threshold": saved["threshold"] + 0.05}), encoding="utf-8")
    assert code_digest.__wrapped__(scratch) != before

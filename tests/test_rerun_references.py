"""A rerun references the current run's files whose rows it takes over whole, instead of copying them, and
loads no spaCy model when nothing needs analysing; the lake stays valid (views, checks, verify, vacuum)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline import delta
from pipeline.checks import run_checks
from pipeline.extract.entities import ENTITIES
from pipeline.lake import current_files, current_runs
from pipeline.maintain import maintain
from pipeline.registry import run_tables
from pipeline.run import run_partition
from pipeline.search import update_index
from pipeline.verify import verify
from pipeline.views import build_database

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent

NO_OP = """
import logging, sys
logging.basicConfig(level=logging.INFO)
from datetime import date
from pathlib import Path
from pipeline.config import Settings
from pipeline.run import run_partition
settings = Settings.from_env(env={}, data_root=Path(sys.argv[1]), raw_root=Path(sys.argv[2]), files_per_shard=4)
run_partition(settings, date.fromisoformat(sys.argv[3]))
print(sorted(m for m in ("spacy", "thinc", "datasketch") if m in sys.modules))
"""


def rows(settings, table):
    with duckdb.connect(str(settings.db), read_only=True) as con:
        return sorted(con.execute(f"select * exclude (run_id) from {table}").fetchall(), key=repr)


def files_by_run(settings, day):
    runs = current_runs(settings.lake)
    return {t.name: sorted(f.name for f in current_files(settings.lake, t, runs)[day]) for t in run_tables()}


def test_a_rerun_references_unchanged_files_and_the_lake_stays_valid(tmp_path):
    day = SAMPLE_DATES[2]
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw, files_per_shard=4)  # several shards: some stay unchanged
    first = run_partition(settings, day)
    build_database(settings.lake, settings.db)
    tables = (
        "documents",
        "sentences",
        "entities",
        "quotes",
        "rejects",
        "near_duplicates",
        "entity_mentions",
        "entity_pairs",
    )
    before = {t: rows(settings, t) for t in tables}
    first_files = files_by_run(settings, day.isoformat())
    version = delta.latest_version(settings.lake, ENTITIES)
    assert update_index(settings).documents > 0

    # Nothing changed: no model, no new data file, no Delta commit but the runs row's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", NO_OP, str(tmp_path), str(raw), day.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
    assert current_runs(settings.lake)[day.isoformat()] > first["run_id"]
    assert files_by_run(settings, day.isoformat()) == first_files
    assert delta.latest_version(settings.lake, ENTITIES) == version
    build_database(settings.lake, settings.db)
    assert {t: rows(settings, t) for t in tables} == before
    assert not run_checks(settings, day).failed  # integrity_orphans: rows of a run the current one references
    indexed = update_index(settings)  # the same files: the date's run id is updated, nothing read again
    assert (indexed.dates, indexed.documents) == ([day.isoformat()], 0)

    # One file edited: the shards without it are referenced, the one with it is rewritten.
    edited = sorted((raw / day.isoformat()).glob("00*.txt"))[0]
    edited.write_text(edited.read_text() + "\nCorrection: Mette Kragh spoke in Oslo, not Bergen.\n")
    third = run_partition(settings, day)
    now = files_by_run(settings, day.isoformat())
    for table in ("documents", "entities", "sentences"):
        kept = [name for name in now[table] if name.startswith(first["run_id"])]
        assert kept and len(kept) < len(first_files[table])
        assert any(name.startswith(third["run_id"]) for name in now[table])
    build_database(settings.lake, settings.db)
    assert len(rows(settings, "documents")) == len(before["documents"])
    assert not run_checks(settings, day).failed
    assert not any(verify(settings.lake).values())

    # Delta's own vacuum, with no retention, would delete none of the files the current version lists (a file
    # the overwrite removed and added back in one commit is listed); compaction then folds the date.
    for t in run_tables():
        table = delta.open_table(settings.lake, t)
        doomed = {p.rsplit("/", 1)[-1] for p in table.vacuum(0, dry_run=True, enforce_retention_duration=False)}
        assert not doomed & set(now[t.name])
    maintain(settings, retention_hours=0, enforce_retention=False)
    build_database(settings.lake, settings.db)
    assert len(rows(settings, "documents")) == len(before["documents"])
    assert not run_checks(settings, day).failed
    assert not any(verify(settings.lake).values())

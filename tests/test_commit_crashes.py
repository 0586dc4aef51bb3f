"""A commit killed (SIGKILL) at several points between its first and its last Delta commit: every table stays
readable by Delta readers, the views never mix two runs of a date, and the next run or `news-etl repair`
brings every table and the views to the same run."""

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import deltalake
import duckdb
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.registry import run_tables
from pipeline.run import run_partition
from pipeline.views import build_database

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
DAY = SAMPLE_DATES[0].isoformat()
DATA_TABLES = [t.name for t in run_tables()]

# Runs the CLI's run in this process and kills it (SIGKILL) once N Delta commits of its commit are done:
# 0 = only the intent is written; len(DATA_TABLES) = every table replaced, the runs row not yet added;
# len(DATA_TABLES) + 1 = the runs row is in too, the intent not yet removed.
KILLER = """
import os, signal, sys
import pipeline.delta as delta
from pipeline.cli import main

kill_after = int(sys.argv[1])
done = []
register = delta.register

def dying_register(*args, **kwargs):
    if len(done) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
    register(*args, **kwargs)
    done.append(args[1].name)
    if len(done) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

delta.register = dying_register
sys.exit(main(sys.argv[2:]))
"""


def run_ids(lake: Path) -> dict[str, set[str]]:
    """The runs whose files each table lists, as Delta readers see it (its rows read too: it must be readable)."""
    found = {}
    for name in DATA_TABLES:
        table = deltalake.DeltaTable(str(lake / name))
        table.to_pyarrow_table()
        found[name] = {Path(uri).name[:29] for uri in table.file_uris()}  # files are named <run_id>-...
    return found


def view_run_ids(db: Path) -> dict[str, set[str]]:
    """The runs each view's rows come from (a table without rows for the date has none)."""
    with duckdb.connect(str(db), read_only=True) as con:
        found = {
            name: {r[0] for r in con.execute(f"select distinct run_id from {name}").fetchall()} for name in DATA_TABLES
        }
    return {name: ids for name, ids in found.items() if ids}


@pytest.fixture(scope="module")
def committed_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("committed")
    raw = root / "raw"
    shutil.copytree(SAMPLE_RAW / DAY, raw / DAY)
    settings = make_settings(root, raw_root=raw)
    first = run_partition(settings, SAMPLE_DATES[0])
    (raw / DAY / "zz_added.txt").write_text(
        "LONDON (Reuters) - A new article arrived after the first run, and the mayor said it was welcome.\n",
        encoding="utf-8",
    )
    return root, first["run_id"]


def killed_commit(committed_once, tmp_path: Path, kill_at: int):
    """A copy of the committed lake, and a rerun of its date (one file added) killed in its commit."""
    base, _ = committed_once
    root = tmp_path / "lake-copy"
    shutil.copytree(base, root)
    settings = make_settings(root, raw_root=root / "raw")
    # --force: the rerun writes every row anew, so a table's rows name the one run whose files it reads (without
    # it, files whose rows all carry over are referenced as they are, their rows keeping the first run's id)
    args = ["run", "--date", DAY, "--raw-root", root / "raw", "--lake", settings.lake, "--db", settings.db, "--force"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(kill_at), *map(str, args)], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return settings


@pytest.mark.parametrize(
    "kill_at",
    [0, 3, len(DATA_TABLES), len(DATA_TABLES) + 1],
    ids=["before-any-table", "half-way", "before-the-runs-row", "before-the-intent-is-removed"],
)
def test_a_commit_killed_half_way_is_finished_by_repair(committed_once, tmp_path, kill_at):
    _, old_run = committed_once
    settings = killed_commit(committed_once, tmp_path, kill_at)

    seen = run_ids(settings.lake)  # every table still reads; each shows one run or the other
    assert all(len(ids) == 1 for ids in seen.values()), seen
    new_run = next(iter(seen[DATA_TABLES[0]])) if kill_at else None
    assert sum(ids != {old_run} for ids in seen.values()) == min(kill_at, len(DATA_TABLES))
    build_database(settings.lake, settings.db)
    shown = old_run if kill_at <= len(DATA_TABLES) else new_run  # the runs row is the switch
    assert all(ids == {shown} for ids in view_run_ids(settings.db).values())  # never a mix

    repaired = subprocess.run(
        [str(NEWS_ETL), "repair", "--lake", str(settings.lake), "--db", str(settings.db)],
        capture_output=True,
        text=True,
    )
    assert repaired.returncode == 0, repaired.stderr
    after = run_ids(settings.lake)
    current = view_run_ids(settings.db)
    (run,) = current["documents"]
    assert all(ids == {run} for ids in current.values()) and all(ids == {run} for ids in after.values())
    assert run != old_run and (new_run is None or run == new_run)


def test_the_next_run_finishes_a_killed_commit_first(committed_once, tmp_path):
    settings = killed_commit(committed_once, tmp_path, 2)
    row = run_partition(settings, SAMPLE_DATES[0], force=True)
    build_database(settings.lake, settings.db)
    assert all(ids == {row["run_id"]} for ids in view_run_ids(settings.db).values())
    assert all(ids == {row["run_id"]} for ids in run_ids(settings.lake).values())
    assert row["documents"] == 13  # the added article is in, reused or not


# Runs the CLI's run in this process and kills it once its commit has written the runs row, before the commit
# intent says so: the state a crash leaves between the two.
KILLED_AFTER_THE_RUNS_ROW = """
import os, signal, sys
import pipeline.lake as lake
from pipeline.cli import main

write_rows = lake.write_rows

def dying_write_rows(table, *args, **kwargs):
    written = write_rows(table, *args, **kwargs)
    if table.name == "runs":
        os.kill(os.getpid(), signal.SIGKILL)
    return written

lake.write_rows = dying_write_rows
sys.exit(main(sys.argv[1:]))
"""


def test_a_first_commit_killed_before_its_intent_lists_the_runs_row(tmp_path):
    """A new lake (no runs table yet): the crash leaves a runs row that no table lists. It is never taken for
    release 0.1's (its intent is beside it), and the date's next run drops both, then commits."""
    from pipeline.migrate import old_layout

    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / DAY, raw / DAY)
    settings = make_settings(tmp_path, raw_root=raw)
    args = ["run", "--date", DAY, "--raw-root", raw, "--lake", settings.lake, "--db", settings.db]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_THE_RUNS_ROW, *map(str, args)], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (row,) = (settings.lake / "runs").glob(f"date={DAY}/*.parquet")
    assert not old_layout(settings.lake)

    committed = run_partition(settings, SAMPLE_DATES[0])
    assert not row.exists() and not list((settings.lake / "_runs" / row.stem).glob("commit.json"))
    build_database(settings.lake, settings.db)
    assert all(ids == {committed["run_id"]} for ids in view_run_ids(settings.db).values())

"""A run killed with SIGKILL half way leaves nothing visible; the rerun's rows equal an uninterrupted run's."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.run import run_partition
from pipeline.views import build_database

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
TABLES = ("documents", "sentences", "entities", "quotes", "rejects", "near_duplicates")


def contents(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: sorted(con.execute(f"select * exclude (run_id) from {t}").fetchall(), key=repr) for t in TABLES}


def landing_with_all_samples(root: Path, day: str) -> Path:
    """All sample dates' files under one date, so a run lasts long enough to be killed half way."""
    raw = root / "raw"
    for sample_day in SAMPLE_DATES:
        shutil.copytree(SAMPLE_RAW / sample_day.isoformat(), raw / day / sample_day.isoformat())
    return raw


def test_kill_9_mid_run_then_rerun(tmp_path):
    day = SAMPLE_DATES[0].isoformat()
    reference = make_settings(tmp_path / "reference", raw_root=landing_with_all_samples(tmp_path / "reference", day))
    run_partition(reference, SAMPLE_DATES[0])
    build_database(reference.lake, reference.db)

    root = tmp_path / "crashed"
    landing_with_all_samples(root, day)
    # A committed run of the first half exists, so the view has something to keep showing.
    first_half = sorted((root / "raw" / day).iterdir())[0]
    shutil.move(first_half, tmp_path / "aside")
    assert (
        subprocess.run([str(NEWS_ETL), "run", "--date", day, "--data-root", str(root)], capture_output=True).returncode
        == 0
    )
    before = contents(root / "news.duckdb")
    shutil.move(tmp_path / "aside", first_half)

    # --workers 2 with small shards: kill the whole process group once some shard files exist.
    env = {**os.environ, "NEWS_FILES_PER_SHARD": "6"}
    victim = subprocess.Popen(
        [str(NEWS_ETL), "run", "--date", day, "--data-root", str(root), "--workers", "2", "--force"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    documents = root / "lake" / "documents" / f"date={day}"
    while time.monotonic() < deadline and len(list(documents.glob("*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # the CLI and its worker processes
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert len(list(documents.glob("*.parquet"))) >= 3, "the run was killed after some shards were written"

    assert contents(root / "news.duckdb") == before  # readers still see the last committed run, whole

    rerun = subprocess.run(
        [str(NEWS_ETL), "run", "--date", day, "--data-root", str(root)], capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert contents(root / "news.duckdb") == contents(reference.db)

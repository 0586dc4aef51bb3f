"""Damaged lake files (truncated, a flipped bit) are found by name, moved aside so the other dates' views keep
working, never carried over, and one rerun of the damaged date repairs it."""

import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.lake import committed_runs
from pipeline.run import run_partition
from pipeline.views import build_database

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)


def news_etl(settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    paths = ["--raw-root", str(settings.raw_root), "--lake", str(settings.lake), "--db", str(settings.db)]
    command = [f"{BIN}/news-etl", *args, *(paths if args[0] == "run" else paths[2:])]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def counts(settings):
    with duckdb.connect(str(settings.db), read_only=True) as con:
        return dict(con.execute("select date::varchar, count(*) from documents group by all order by 1").fetchall())


def test_a_damaged_file_is_reported_moved_aside_and_repaired_by_one_rerun(tmp_path):
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    damaged_day, other_day = SAMPLE_DATES[0].isoformat(), SAMPLE_DATES[1].isoformat()
    for day in SAMPLE_DATES[:2]:
        run_partition(settings, day)
    build_database(settings.lake, settings.db)
    before = counts(settings)
    run_id = committed_runs(settings.lake, damaged_day)[-1]

    truncated = settings.lake / "documents" / f"date={damaged_day}" / f"{run_id}-00000.parquet"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    flipped = settings.lake / "entities" / f"date={damaged_day}" / f"{run_id}-00000.parquet"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside a data page: only its checksum tells
    flipped.write_bytes(bytes(data))

    result = news_etl(settings, "verify")
    assert result.returncode == 1
    named = [line for line in result.stdout.splitlines() if "damaged:" in line]
    assert (
        len(named) == 2
        and any(str(truncated) in line for line in named)
        and any(str(flipped) in line for line in named)
    )
    assert not truncated.exists() and (settings.lake / "_damaged" / "documents" / f"date={damaged_day}").is_dir()

    build_database(settings.lake, settings.db)  # the other date is whole; the damaged one shows what is left
    assert counts(settings)[other_day] == before[other_day]

    rerun = news_etl(settings, "run", "--date", damaged_day)  # incremental: no --force
    assert rerun.returncode == 0, rerun.stderr
    assert counts(settings) == before
    assert news_etl(settings, "verify").returncode == 0


def test_a_rerun_never_carries_rows_over_from_a_damaged_run(tmp_path):
    raw = tmp_path / "raw"
    day = SAMPLE_DATES[2]
    shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw)
    first = run_partition(settings, day)
    path = settings.lake / "sentences" / f"date={day}" / f"{first['run_id']}-00000.parquet"
    path.write_bytes(path.read_bytes()[:100])
    second = run_partition(settings, day)
    assert second["rows"] == first["rows"]  # everything analysed again, nothing lost
    build_database(settings.lake, settings.db)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        assert con.execute("select count(*) from sentences").fetchone() == (first["rows"]["sentences"],)

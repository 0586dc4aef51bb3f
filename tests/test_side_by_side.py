"""Runs of different dates commit side by side, as backfills do: on a local disk (delta-rs settles concurrent
commits itself) and on an S3 store without conditional writes (`rclone serve s3`: commits take the lake's
commit lock). Every table then holds every date once, and Delta readers agree with the views."""

import os
import subprocess
import sys
from pathlib import Path

import deltalake
import pyarrow as pa
import pytest
import s3fs
from test_storage import KEY, SECRET, s3_endpoint, s3_env, upload_samples  # noqa: F401 (fixtures)

from conftest import SAMPLE_DATES, SAMPLE_RAW
from pipeline.registry import TABLES
from pipeline.storage import IO_THREADS, backend, location
from pipeline.storage.s3 import fs_options
from pipeline.views import connect

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"


def run_all_dates_at_once(raw: str, lake: str, db: Path) -> None:
    runs = [
        subprocess.Popen(
            [str(NEWS_ETL), "run", "--date", day.isoformat(), "--raw-root", raw, "--lake", lake, "--no-views"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in SAMPLE_DATES
    ]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    views = subprocess.run([str(NEWS_ETL), "views", "--lake", lake, "--db", str(db)], capture_output=True, text=True)
    assert views.returncode == 0, views.stderr


def check_every_date_once(lake: str, db: Path, storage_options: dict[str, str]) -> None:
    with connect(db) as con:  # sandboxed, and able to read an S3 lake
        dates = {r[0].isoformat() for r in con.execute("select distinct date from lake.documents").fetchall()}
        assert dates == {d.isoformat() for d in SAMPLE_DATES}
        for table in TABLES:
            delta = deltalake.DeltaTable(f"{lake}/{table.name}", storage_options=storage_options)
            # The log only: delta-rs reads data with suffix range requests, which rclone answers whole.
            actions = pa.table(delta.get_add_actions(flatten=True))
            (viewed,) = con.execute(f"select count(*) from lake.{table.name}").fetchone()
            assert sum(actions["num_records"].to_pylist()) == viewed, table.name
            assert {str(p) for p in actions["partition.date"].to_pylist()} == dates, table.name


def test_three_dates_commit_at_once_on_a_local_disk(tmp_path):
    lake = tmp_path / "lake"
    run_all_dates_at_once(str(SAMPLE_RAW), str(lake), tmp_path / "news.duckdb")
    check_every_date_once(str(lake), tmp_path / "news.duckdb", {})
    for table in TABLES:  # one Delta commit per date and table: none lost to a race
        assert deltalake.DeltaTable(str(lake / table.name)).version() == len(SAMPLE_DATES) - 1


def test_three_dates_commit_at_once_on_a_store_without_conditional_writes(s3_env, tmp_path):  # noqa: F811
    assert not os.environ.get("NEWS_S3_CONDITIONAL_PUT")
    store = s3fs.S3FileSystem(**fs_options(IO_THREADS))
    upload_samples(store, "news/side/raw")
    lake = "s3://news/side/lake"
    run_all_dates_at_once("s3://news/side/raw", lake, tmp_path / "news.duckdb")
    check_every_date_once(lake, tmp_path / "news.duckdb", backend(location(lake)).delta_options())
    assert not list(Path(s3_env["folder"], "news", "side", "lake", "_locks", "commits").glob("*.json"))

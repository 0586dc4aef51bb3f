"""`news-etl maintain`: compaction keeps every row and time travel; vacuum never deletes what a view reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars
import pytest
from deltalake import DeltaTable
from test_storage import s3_endpoint, s3_env  # noqa: F401 (fixtures: a real S3 server)

from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline import delta, locks
from pipeline.cli import main
from pipeline.config import Settings
from pipeline.errors import UserError
from pipeline.extract.document import DOCUMENTS
from pipeline.lake import COMPACTED_FILE, committed_runs, current_runs, new_run_id, recorded_files
from pipeline.maintain import Report, file_key, maintain, vacuum
from pipeline.registry import run_tables
from pipeline.run import run_partition
from pipeline.verify import verify
from pipeline.views import build_database, database_files, lake_files, query

pytestmark = pytest.mark.integration

FILES_PER_SHARD = 5  # the sample's 13 files a date: three shard files in every shard-written table


@pytest.fixture(scope="module")
def base_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample corpus in shards of five, and the first date run twice (its first run superseded)."""
    settings = make_settings(tmp_path_factory.mktemp("maintain"), raw_root=SAMPLE_RAW, files_per_shard=FILES_PER_SHARD)
    for day in SAMPLE_DATES:
        run_partition(settings, day)
    run_partition(settings, SAMPLE_DATES[0], force=True)
    return settings


def copy_lake(base: Settings, root: Path) -> Settings:
    shutil.copytree(str(base.lake), root / "lake")
    return make_settings(root, raw_root=SAMPLE_RAW, files_per_shard=FILES_PER_SHARD)


def canonical(rows: list) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


def view_rows(db: Path, name: str, columns: str = "") -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(map(repr, con.execute(f"select * {columns} from lake.{name}").fetchall()))


def readers(settings: Settings, name: str) -> dict[str, list[str]]:
    uri = str(settings.lake / name)
    return {
        "views": view_rows(settings.db, name),
        "delta": canonical(DeltaTable(uri).to_pyarrow_table().to_pylist()),
        "polars": canonical(polars.read_delta(uri).to_dicts()),
    }


def lake_state(lake) -> list[tuple[str, int, float]]:
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime) for p in Path(str(lake)).rglob("*") if p.is_file())


def test_compaction_keeps_every_row_and_time_travel(base_lake, tmp_path):
    settings = copy_lake(base_lake, tmp_path)
    build_database(settings.lake, settings.db)
    before = {t.name: readers(settings, t.name) for t in run_tables()}
    content = {t.name: view_rows(settings.db, t.name, "exclude (run_id)") for t in run_tables()}
    versions = {t.name: delta.open_table(settings.lake, t).version() for t in run_tables()}

    report = maintain(settings)

    assert report.views_rebuilt
    documents = report.tables["documents"]
    n_dates = len(SAMPLE_DATES)
    assert (documents.dates_compacted, documents.files_replaced, documents.files_written) == (
        n_dates,
        3 * n_dates,
        n_dates,
    )
    assert documents.files_deleted == 0  # everything replaced is younger than the retention
    runs = current_runs(settings.lake)
    for t in run_tables():
        partitions = delta.partitions(delta.open_table(settings.lake, t))
        for day, run_id in runs.items():
            names = [f.name for f in partitions[day]]
            assert len(names) == 1 and names[0].startswith(run_id), (t.name, day, names)
            if t.written_by == "shard":
                assert COMPACTED_FILE.match(names[0])
        assert readers(settings, t.name) == before[t.name], t.name
        # Time travel: the version before the compaction reads the shard files, still on disk.
        old = DeltaTable(str(settings.lake / t.name), version=versions[t.name]).to_pyarrow_table()
        assert canonical(old.to_pylist()) == before[t.name]["delta"], t.name
    assert not any(verify(settings.lake).values())  # the compacted files read whole, checksums verified

    again = maintain(settings, retention_hours=240)
    assert not again.views_rebuilt
    assert all(t.files_written == 0 and t.files_deleted == 0 for t in again.tables.values())
    # A longer retention becomes the tables' own: Delta's checkpoints and other engines' vacuums keep to it too.
    config = DeltaTable(str(settings.lake / "documents")).metadata().configuration
    assert config["delta.deletedFileRetentionDuration"] == "interval 240 hours"

    # A rerun of a compacted date takes its unchanged files' rows over from the compacted files.
    run_partition(settings, SAMPLE_DATES[1])
    build_database(settings.lake, settings.db)
    assert {t.name: view_rows(settings.db, t.name, "exclude (run_id)") for t in run_tables()} == content


def test_vacuum_never_deletes_what_the_views_read(base_lake, tmp_path):
    settings = copy_lake(base_lake, tmp_path)
    lake = settings.lake
    build_database(lake, settings.db)
    old_db_files = database_files(settings.db)
    counts = {t.name: len(view_rows(settings.db, t.name)) for t in run_tables()}
    day = SAMPLE_DATES[0].isoformat()
    superseded, current = committed_runs(lake, day)
    superseded_files = [p for t in run_tables() for p in (lake / t.name / f"date={day}").glob(f"{superseded}-*")]
    assert superseded_files
    # In documents, a checkpoint has dropped the record of the superseded files: no version lists them now.
    documents = DeltaTable(str(lake / "documents"))
    documents.alter.set_table_properties({"delta.deletedFileRetentionDuration": "interval 1 seconds"})
    time.sleep(1.1)
    documents.create_checkpoint()
    assert not DeltaTable(str(lake / "documents")).vacuum(0, dry_run=True, enforce_retention_duration=False)
    folder = Path(str(lake / "documents" / f"date={day}"))
    some_parquet = next(folder.glob(f"{current}-*.parquet"))
    not_ours = folder / "notes.txt"
    live = folder / f"{new_run_id()}-00000.parquet"  # a run under way: no version lists its files yet
    dead = folder / f"{new_run_id(datetime.now(UTC) - timedelta(days=2))}-00000.parquet"  # never committed
    damaged = Path(str(lake)) / "_damaged" / "documents" / f"date={day}" / some_parquet.name
    damaged.parent.mkdir(parents=True)
    for path in (not_ours, live, dead, damaged):
        shutil.copyfile(some_parquet, path)

    state = lake_state(lake)
    dry = maintain(settings, retention_hours=0, enforce_retention=False, dry_run=True)
    assert lake_state(lake) == state  # nothing written, nothing deleted
    assert dry.tables["documents"].files_written == len(SAMPLE_DATES)
    assert dry.tables["documents"].files_deleted == 3 + 1  # the superseded run's shards, the dead run's file

    # Compact without rebuilding the views: the database still reads the shard files, which vacuum keeps.
    report = maintain(settings, retention_hours=0, enforce_retention=False, rebuild_views=False)
    assert report.tables["documents"].files_deleted == 4
    assert report.tables["documents"].bytes_freed > 0
    assert not any(p.exists() for p in superseded_files)
    assert not dead.exists()
    assert live.exists() and not_ours.exists() and damaged.exists()
    assert (Path(str(lake)) / "_runs").is_dir()
    read_now = {p for paths in lake_files(lake).values() for p in paths}
    replaced = old_db_files - read_now
    assert replaced and all(Path(p).exists() for p in old_db_files)
    assert {t.name: len(view_rows(settings.db, t.name)) for t in run_tables()} == counts  # the old database

    # Once the views read the compacted files, the shard files go.
    build_database(lake, settings.db)
    vacuum(lake, settings.db, 0, Report(), enforce_retention=False)
    assert not any(Path(p).exists() for p in replaced)
    assert all(Path(p).exists() for p in read_now)
    assert {t.name: len(view_rows(settings.db, t.name)) for t in run_tables()} == counts
    # Should a newer run's commit stop half way, the views fall back to the current run's files: compacted now.
    fallback = recorded_files(lake, DOCUMENTS, day, current)
    assert [file_key(f"documents/{f.path}") for f in fallback] == [
        file_key(p) for p in read_now if p.startswith(str(lake / "documents" / f"date={day}"))
    ]


def test_a_busy_date_is_skipped_and_the_cli_reports_it(base_lake, tmp_path, capsys, monkeypatch):
    for name in ("NEWS_LAKE", "NEWS_DB", "NEWS_RETENTION_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = copy_lake(base_lake, tmp_path)
    busy = SAMPLE_DATES[1].isoformat()
    locks.acquire(settings.lake, busy, new_run_id(), "airflow:news_nightly/manual__1", settings.lock_stale_seconds)
    state = lake_state(settings.lake)

    assert main(["maintain", "--data-root", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert lake_state(settings.lake) == state
    # The superseded run's files are younger than the week's retention: none would go.
    assert "documents: 2 dates would be compacted (6 files -> 2), 0 files would be deleted (0.0 MB)" in out
    assert f"{busy}: not compacted, another run holds it" in out

    assert main(["maintain", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "documents: 2 dates compacted (6 files -> 2), 0 files deleted (0.0 MB)" in out
    assert f"{busy}: not compacted" in out
    partitions = delta.partitions(delta.open_table(settings.lake, DOCUMENTS))
    assert len(partitions[busy]) == 3
    assert all(len(files) == 1 for day, files in partitions.items() if day != busy)
    assert not locks.locks(settings.lake, SAMPLE_DATES[0].isoformat())  # maintain's own lock released


def test_a_retention_under_a_week_is_refused(tmp_path, capsys, monkeypatch):
    assert main(["maintain", "--data-root", str(tmp_path), "--retention-hours", "24"]) == 2
    assert "--retention-hours=24: vacuum keeps replaced files for at least 168 hours" in capsys.readouterr().err
    with pytest.raises(UserError, match="NEWS_RETENTION_HOURS=100"):
        Settings.from_env(env={"NEWS_RETENTION_HOURS": "100"})
    assert Settings.from_env(env={"NEWS_RETENTION_HOURS": "720"}).retention_hours == 720


@pytest.fixture(scope="module")
def airflow_db():
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True, capture_output=True)


def test_weekly_dag_compacts_and_refreshes_the_views(airflow_db, base_lake, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["news_maintenance"]
    assert [t.task_id for t in dag.topological_sort()] == ["maintain", "refresh_views"]
    assert dag.catchup is False and set(dag.tags) == {"news-etl"}
    assert dag.timetable.summary == "0 4 * * 0"

    settings = copy_lake(base_lake, tmp_path)
    build_database(settings.lake, settings.db)
    counts = {t.name: len(view_rows(settings.db, t.name)) for t in run_tables()}
    monkeypatch.setenv("NEWS_DATA_ROOT", str(tmp_path))
    run = dag.test()
    assert run.state == "success"
    assert all(len(files) == 1 for files in delta.partitions(delta.open_table(settings.lake, DOCUMENTS)).values())
    assert {file_key(p) for p in database_files(settings.db)} == {
        file_key(p) for paths in lake_files(settings.lake).values() for p in paths
    }
    assert {t.name: len(view_rows(settings.db, t.name)) for t in run_tables()} == counts


def test_maintenance_of_a_lake_on_object_storage(s3_env, base_lake, tmp_path):  # noqa: F811
    served = s3_env["folder"] / "news" / "maintain" / "lake"
    shutil.copytree(str(base_lake.lake), served)  # rclone serves this folder: the lake is on S3 now
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW, lake="s3://news/maintain/lake")
    build_database(settings.lake, settings.db)
    count = "select count(*) from documents"
    (documents,) = query(settings.db, count).fetchone()
    day = SAMPLE_DATES[0].isoformat()
    superseded = committed_runs(settings.lake, day)[0]

    report = maintain(settings, retention_hours=0, enforce_retention=False, rebuild_views=False)

    assert report.tables["documents"].files_written == len(SAMPLE_DATES)
    assert not list(served.rglob(f"{superseded}-*"))
    assert query(settings.db, count).fetchone() == (documents,)  # the old views' files are still there
    build_database(settings.lake, settings.db)
    vacuum(settings.lake, settings.db, 0, Report(), enforce_retention=False)
    assert sorted(p.name for p in (served / "documents" / f"date={day}").iterdir()) == [
        next(iter(delta.partitions(delta.open_table(settings.lake, DOCUMENTS))[day])).name
    ]
    assert query(settings.db, count).fetchone() == (documents,)

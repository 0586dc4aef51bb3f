"""Any engine reads exactly the current rows: after a rerun of a date with one file changed, one deleted and
one added, deltalake, Polars and DuckDB's delta_scan return for every table the rows our views return, and
time travel to the version before returns the previous run's rows."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import deltalake
import duckdb
import polars
import pyarrow as pa
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.checks import run_checks
from pipeline.registry import TABLES
from pipeline.run import run_partition
from pipeline.views import build_database

pytestmark = pytest.mark.integration

# delta_scan runs in a process of its own: the delta extension and deltalake in one process abort at exit
# ("terminate called without an active exception", see GUIDE.md).
DELTA_SCAN = """
import json, sys
from pathlib import Path
import duckdb, duckdb_extension_delta
extension = Path(duckdb_extension_delta.__file__).parent / "extensions" / f"v{duckdb.__version__}"
con = duckdb.connect()
con.execute(f"load '{extension / 'delta.duckdb_extension'}'")
for name, path in json.loads(sys.argv[1]).items():
    con.execute(f"copy (select * from delta_scan('{path}')) to '{path}.scan.parquet' (format parquet)")
"""


def canonical(rows: pa.Table, schema: pa.Schema) -> list[dict]:
    """Rows in the views' column order and types, sorted: engines differ in column order and string types."""
    rows = rows.select(schema.names).cast(schema)
    return sorted(rows.to_pylist(), key=repr)


@pytest.fixture(scope="module")
def rerun_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    raw = root / "raw"
    for day in SAMPLE_DATES[:2]:
        shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(root, raw_root=raw)
    for day in SAMPLE_DATES[:2]:
        run_partition(settings, day)
    folder = raw / SAMPLE_DATES[0].isoformat()
    first = run_partition(settings, SAMPLE_DATES[0])  # an unchanged rerun: a version with the same rows
    files = sorted(folder.glob("*.txt"))
    files[0].write_text(files[0].read_text(encoding="utf-8") + "\nThe minister said more talks would follow.\n")
    files[1].unlink()
    (folder / "zz_added.txt").write_text(
        "PARIS (Reuters) - Officials in Paris said on Monday that the new bridge would open in March.\n"
    )
    second = run_partition(settings, SAMPLE_DATES[0])
    for day in SAMPLE_DATES[:2]:
        run_checks(settings, day)
    run_checks(settings, SAMPLE_DATES[0])  # a second check run of the current run: both stay in lake.checks
    build_database(settings.lake, settings.db)
    return settings, first["run_id"], second["run_id"]


def view_rows(settings, name: str) -> pa.Table:
    with duckdb.connect(str(settings.db), read_only=True) as con:
        return con.execute(f"select * from lake.{name}").to_arrow_table()


@pytest.mark.parametrize("name", [t.name for t in TABLES])
def test_delta_readers_return_exactly_the_views_rows(rerun_lake, tmp_path, name):
    settings, _, _ = rerun_lake
    expected = view_rows(settings, name)
    uri = str(settings.lake / name)
    assert canonical(deltalake.DeltaTable(uri).to_pyarrow_table(), expected.schema) == canonical(
        expected, expected.schema
    )
    assert canonical(polars.read_delta(uri).to_arrow(), expected.schema) == canonical(expected, expected.schema)

    scanned = tmp_path / name
    shutil.copytree(uri, scanned)  # delta_scan's copy is written beside it, not into the lake
    result = subprocess.run(
        [sys.executable, "-c", DELTA_SCAN, json.dumps({name: str(scanned)})], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    scan = duckdb.connect().execute(f"select * from '{scanned}.scan.parquet'").to_arrow_table()
    assert canonical(scan, expected.schema) == canonical(expected, expected.schema)


def test_time_travel_returns_the_previous_run(rerun_lake):
    """The version before the last holds exactly the files the previous run committed (those it wrote and those
    it took over unchanged from the run before: their rows keep the run id of the run that wrote them)."""
    settings, previous, current = rerun_lake
    day = SAMPLE_DATES[0]
    runs = deltalake.DeltaTable(str(settings.lake / "runs")).to_pyarrow_table(filters=[("date", "=", day)])
    recorded = dict(zip(runs["run_id"].to_pylist(), runs["files"].to_pylist(), strict=True))
    for table in TABLES:
        if not table.per_run:  # histories (runs, checks) only grow
            continue
        delta = deltalake.DeltaTable(str(settings.lake / table.name))
        before = deltalake.DeltaTable(str(settings.lake / table.name), version=delta.version() - 1)
        for version, run_id in ((before, previous), (delta, current)):
            partition = f"date={day}"
            files = {f"{table.name}/{partition}/{Path(u).name}" for u in version.file_uris() if partition in u}
            assert files == {f for f in recorded[run_id] if f.startswith(f"{table.name}/")}, table.name
        rows = before.to_pyarrow_table(filters=[("date", "=", day)])
        now = delta.to_pyarrow_table(filters=[("date", "=", day)])
        assert current in set(now["run_id"].to_pylist()) or table.name in ("rejects", "near_duplicates")
        assert table.name in ("rejects", "near_duplicates") or len(rows) and len(now)


def test_raw_parquet_readers_see_superseded_files_too(rerun_lake):
    """What the README says: reading the Parquet files directly, not through Delta, also meets older runs'."""
    settings, _, _ = rerun_lake
    files = list(Path(settings.lake / "documents").glob("date=*/*.parquet"))
    runs = {f.name[:29] for f in files}
    assert len(runs) > 2

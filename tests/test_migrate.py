"""Converting a lake of release 0.1 (before Delta Lake), made by that release's own code checked out of this
repository's history: the views show what 0.1's views showed, every Delta reader reads exactly the current
rows, a second migration does nothing, a killed one finishes when run again, and runs go on afterwards."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import deltalake
import duckdb
import polars
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_storage

from conftest import SAMPLE_RAW, make_settings
from pipeline import delta, migrate
from pipeline.extract.near_duplicates import SIGNATURES
from pipeline.lake import read_plan
from pipeline.registry import TABLES as ALL_TABLES
from pipeline.storage import location
from pipeline.views import build_database, reach_object_store

pytestmark = pytest.mark.integration

# The tables a 0.1 lake has (checks came with 0.2, written by the first check run after the migration).
TABLES = [t for t in ALL_TABLES if t.name != "checks"]
s3_endpoint, s3_env = test_storage.s3_endpoint, test_storage.s3_env  # a real S3 server on loopback

REPO = Path(__file__).parents[1]
OLD_RELEASE = "899eec2"  # release 0.1, the last one before Delta Lake
DAYS = ("2026-11-23", "2026-11-24")
CHANGED = "001_69b4fe1daa748a4d.txt"  # a file of DAYS[0] edited between its two 0.1 runs
KILL_POINTS = [  # (function of pipeline.migrate, call after which the migration is killed)
    ("write_atomic", 1),  # one file rewritten to the declared schema (signatures to int64, quotes with kind)
    ("register_all", 3),  # three tables registered
    ("record_files", 2),  # two runs rows rewritten
    ("remove_run", 1),  # the superseded run deleted, the runs table not yet created
]


@dataclass(frozen=True)
class OldLake:
    root: Path  # raw/, lake/ and old.duckdb, as release 0.1 left them
    views: dict[str, pa.Table]  # every view of 0.1's database, read before any migration
    runs: dict[str, list[str]]  # committed run ids by date, oldest first


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True)


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.1's pipeline/ and sql/, from this repository's history."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot check out release 0.1 to build an old lake")
    if git("cat-file", "-e", f"{OLD_RELEASE}^{{commit}}").returncode:
        pytest.skip(f"commit {OLD_RELEASE} (release 0.1) is not in this clone (shallow?): `git fetch --unshallow`")
    tree = tmp_path_factory.mktemp("release-0.1")
    archive = git("archive", "--format=tar", OLD_RELEASE, "pipeline", "sql")
    assert archive.returncode == 0, archive.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def old_run(tree: Path, raw: Path, lake: Path, day: str) -> None:
    """`news-etl run` of release 0.1, its database beside the lake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")} | {"PYTHONPATH": str(tree)}
    args = ["run", "--date", day, "--raw-root", raw, "--lake", lake, "--db", lake.parent / "old.duckdb"]
    ran = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=tree
    )
    assert ran.returncode == 0, ran.stderr


def what_0_1_shows(lake: Path) -> OldLake:
    """Every view of the database release 0.1 built beside the lake, and the runs of its runs folder."""
    with duckdb.connect(str(lake.parent / "old.duckdb"), read_only=True) as con:
        names = con.sql("select schema_name, view_name from duckdb_views() where not internal").fetchall()
        views = {f"{s}.{v}": con.sql(f'select * from {s}."{v}"').to_arrow_table() for s, v in names}
    runs = {day: sorted(p.stem for p in (lake / "runs" / f"date={day}").glob("*.parquet")) for day in DAYS}
    return OldLake(lake.parent, views, runs)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)


@pytest.fixture(scope="module")
def old_lake(old_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> OldLake:
    """Two dates run by release 0.1, the first twice with a file changed between: the first run is superseded."""
    root = tmp_path_factory.mktemp("old-lake")
    raw, lake = root / "raw", root / "lake"
    for day in DAYS:
        shutil.copytree(SAMPLE_RAW / day, raw / day)
    old_run(old_tree, raw, lake, DAYS[0])
    old_run(old_tree, raw, lake, DAYS[1])
    append(raw / DAYS[0] / CHANGED, "\nThe minister later met officials in Paris.\n")
    old_run(old_tree, raw, lake, DAYS[0])
    old = what_0_1_shows(lake)
    assert [len(old.runs[day]) for day in DAYS] == [2, 1]
    return old


def copy_lake(old: OldLake, tmp_path: Path) -> Path:
    shutil.copytree(old.root / "lake", tmp_path / "lake")
    return tmp_path / "lake"


def rows(table: pa.Table, columns: list[str]) -> list[tuple]:
    """Sorted rows, timestamps in UTC: comparable whichever reader made them."""
    table = table.select(columns)
    for i, kind in enumerate(table.schema.types):
        if pa.types.is_timestamp(kind):
            table = table.set_column(i, columns[i], table.column(i).cast(pa.timestamp("us", tz="UTC")))
    return sorted((tuple(row.values()) for row in table.to_pylist()), key=repr)


def delta_scan(lake: Path, out: Path) -> dict[str, pa.Table]:
    """Every table read by DuckDB's delta extension, in a process of its own (with deltalake loaded too, a
    process can abort at exit)."""
    spec = importlib.util.find_spec("duckdb_extension_delta")
    assert spec is not None and spec.origin, "duckdb-extension-delta (a dev dependency) is not installed"
    extension = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / "delta.duckdb_extension"
    if not extension.exists():
        pytest.skip(f"no delta extension for DuckDB {duckdb.__version__} in duckdb-extension-delta")
    script = (
        "import duckdb, sys\ncon = duckdb.connect()\n"
        f"con.execute(\"load '{extension}'\")\n"
        "for name in sys.argv[1:]:\n"
        f"    con.execute(f\"copy (select * from delta_scan('{lake}/{{name}}')) to '{out}/{{name}}.parquet'\")\n"
    )
    out.mkdir()
    ran = subprocess.run([sys.executable, "-c", script, *(t.name for t in TABLES)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return {t.name: pq.read_table(out / f"{t.name}.parquet") for t in TABLES}


MOST_FREQUENT = {"entity_mentions_daily": ("canonical", "label"), "entity_cooccurrence": ("entity_a", "entity_b")}


def assert_converted(old: OldLake, lake: Path, tmp_path: Path) -> None:
    """The views show what 0.1's showed; Delta readers read exactly 0.1's current rows; nothing is left over."""
    db = tmp_path / "news.duckdb"
    build_database(location(lake), db)
    with duckdb.connect(str(db), read_only=True) as con:
        for name, before in old.views.items():
            schema, view = name.split(".")
            after = con.sql(f'select * from {schema}."{view}"').to_arrow_table()
            # A key's most frequent spelling and label: of equally frequent ones 0.1's mode() took any, the rollups
            # the last in sort order (tests/test_rollups.py checks they are the most frequent).
            columns = [c for c in before.column_names if c not in MOST_FREQUENT.get(view, ())]
            assert rows(after, columns) == rows(before, columns), name
    scanned = delta_scan(lake, tmp_path / "delta_scan")
    for table in (t for t in TABLES if f"lake.{t.name}" in old.views):  # not the rollups: 0.1 had none
        before = old.views[f"lake.{table.name}"]
        expected = rows(before, before.column_names)
        uri = str(lake / table.name)
        readers = {
            "deltalake": deltalake.DeltaTable(uri).to_pyarrow_table(),
            "polars": polars.read_delta(uri).to_arrow(),
            "delta_scan": scanned[table.name],
        }
        for reader, got in readers.items():
            assert rows(got, before.column_names) == expected, f"{table.name} read by {reader}"
    current = {run_ids[-1] for run_ids in old.runs.values()}
    for table in (t for t in TABLES if t.name != "runs"):
        names = {p.name[:29] for p in (lake / table.name).glob("date=*/*.parquet")}  # <run_id>-...
        assert names == current, f"{table.name}: only the current runs' files are left"
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = dict(con.sql("select run_id, files from runs").fetchall())
    for day, run_ids in old.runs.items():
        on_disk = {f"{p.parent.parent.name}/date={day}/{p.name}" for p in lake.glob(f"*/date={day}/{run_ids[-1]}-*")}
        assert set(recorded[run_ids[-1]]) == on_disk
        assert all(recorded[run_id] for run_id in run_ids[:-1]), "a superseded run's files, as committed"
    signatures = pq.read_schema(next((lake / "signatures").glob("date=*/*.parquet")))
    assert signatures.field("minhash").type == pa.list_(pa.int64())
    assert not list((lake / "_locks").rglob("*.json")), "every lock released"
    assert not migrate.old_layout(location(lake))


def snapshot(lake: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in lake.rglob("*") if p.is_file()}


def test_migration_converts_in_place_once(old_lake: OldLake, tmp_path: Path) -> None:
    lake = copy_lake(old_lake, tmp_path)
    superseded = old_lake.runs[DAYS[0]][0]
    superseded_files = list(lake.glob(f"*/date={DAYS[0]}/{superseded}-*.parquet"))
    assert migrate.old_layout(location(lake))

    done = migrate.migrate(location(lake))

    assert done is not None and done.runs == old_lake.runs
    # the current runs' files (the superseded run's are deleted): 0.1 wrote signatures as int32, quotes without kind
    assert done.rewritten == {"quotes": 3, "signatures": 3}
    assert done.removed == len(superseded_files) == 7 and not done.damaged
    assert not any(p.exists() for p in superseded_files)
    assert not (lake / "_runs" / superseded).exists()
    assert_converted(old_lake, lake, tmp_path)
    versions = {t.name: deltalake.DeltaTable(str(lake / t.name)).version() for t in TABLES}
    assert set(versions.values()) == {0}, "each table created in one commit"
    before = snapshot(lake)

    assert migrate.migrate(location(lake)) is None
    assert snapshot(lake) == before, "a second migration writes nothing"


def kill_migration(lake: Path, function: str, call: int) -> None:
    """Migrate in a process of its own, killed (SIGKILL) right after the call-th call of a migrate.py function."""
    script = (
        "import os, signal, sys\nimport pipeline.migrate as m\nfrom pipeline.storage import location\n"
        f"real, calls = m.{function}, []\n"
        "def dying(*args):\n"
        "    result = real(*args)\n"
        "    calls.append(1)\n"
        f"    if len(calls) == {call}:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return result\n"
        f"m.{function} = dying\n"
        "m.migrate(location(sys.argv[1]))\n"
    )
    env = os.environ | {"PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", script, str(lake)], capture_output=True, text=True, env=env)
    assert killed.returncode == -9, killed.stderr
    assert migrate.old_layout(location(lake)), "the lake counts as converted only once the runs table is"
    assert list((lake / "_locks").rglob("migration-*.json")), "the killed migration's locks are left behind"


@pytest.mark.parametrize(("function", "call"), KILL_POINTS)
def test_a_killed_migration_finishes_when_run_again(
    old_lake: OldLake, tmp_path: Path, function: str, call: int
) -> None:
    lake = copy_lake(old_lake, tmp_path)
    kill_migration(lake, function, call)

    assert migrate.migrate(location(lake)) is not None  # its dead locks are taken over

    assert_converted(old_lake, lake, tmp_path)


def test_a_date_run_by_0_1_between_two_attempts_is_taken(old_tree: Path, old_lake: OldLake, tmp_path: Path) -> None:
    """Release 0.1 put back after a failed migration runs a date whose partitions are registered already."""
    lake = copy_lake(old_lake, tmp_path)
    kill_migration(lake, "register_all", 3)
    shutil.copytree(old_lake.root / "raw", tmp_path / "raw")
    append(tmp_path / "raw" / DAYS[1] / "001_d7392a98c392f2f7.txt", "\nA late correction.\n")
    old_run(old_tree, tmp_path / "raw", lake, DAYS[1])
    old = what_0_1_shows(lake)
    assert [len(old.runs[day]) for day in DAYS] == [2, 2]

    assert migrate.migrate(location(lake)) is not None

    assert_converted(old, lake, tmp_path)


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")} | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True, env=env
    )


def test_cli_migrate_then_views(old_lake: OldLake, tmp_path: Path) -> None:
    lake, db = copy_lake(old_lake, tmp_path), tmp_path / "news.duckdb"
    refused = cli("views", "--lake", lake, "--db", db)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "run `news-etl migrate`" in refused.stderr

    ran = cli("migrate", "--lake", lake, "--db", db)

    assert ran.returncode == 0, ran.stderr
    assert "converted 2 dates, 3 runs (1 superseded)" in ran.stdout
    assert "signatures: 3 current files registered, 3 rewritten to the declared schema" in ran.stdout
    assert "quotes: 3 current files registered, 3 rewritten to the declared schema" in ran.stdout
    assert "7 files of superseded runs deleted" in ran.stdout and f"views: {db}" in ran.stdout
    answer = cli("sql", "--lake", lake, "--db", db, "select count(*) as n from documents")
    assert answer.returncode == 0 and str(len(old_lake.views["main.documents"])) in answer.stdout
    again = cli("migrate", "--lake", lake, "--db", db)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_the_first_run_converts_the_lake_and_runs_go_on(
    old_lake: OldLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import run

    lake = copy_lake(old_lake, tmp_path)
    shutil.copytree(old_lake.root / "raw", tmp_path / "raw")
    settings = make_settings(tmp_path, raw_root=tmp_path / "raw")
    assert settings.lake == location(lake)
    append(tmp_path / "raw" / DAYS[0] / CHANGED, "A second added sentence.\n")
    # 0.1's rows were made by other extraction code (its version differs), so a run analyses every file again;
    # pinned to 0.1's version, the carry-over shows the converted files read back like any run's.
    old_row = pq.read_table(lake / "runs" / f"date={DAYS[0]}" / f"{old_lake.runs[DAYS[0]][-1]}.parquet")
    monkeypatch.setattr(run, "pipeline_version", lambda *_: old_row["pipeline_version"][0].as_py())

    row = run.run_partition(settings, date.fromisoformat(DAYS[0]))

    plan = read_plan(settings.lake, row["run_id"])
    assert plan["reused_from"] == old_lake.runs[DAYS[0]][-1] and plan["n_fresh"] == 1
    assert not migrate.old_layout(settings.lake)
    monkeypatch.undo()
    row = run.run_partition(settings, date.fromisoformat(DAYS[1]))
    assert read_plan(settings.lake, row["run_id"])["reused_from"] is None  # today's extraction code
    build_database(settings.lake, settings.db)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        counts = dict(con.sql("select date::varchar, count(*) from documents group by all").fetchall())
        texts = con.sql(f"select text from documents where source_path like '%{CHANGED}'").fetchall()
        history = con.sql("select count(*) from runs").fetchone()
    before = old_lake.views["main.documents"].group_by("date").aggregate([("doc_id", "count")]).to_pylist()
    assert counts == {str(r["date"]): r["doc_id_count"] for r in before}
    assert len(texts) == 1 and "A second added sentence." in texts[0][0]
    assert history == (5,)


def test_migration_on_object_storage(old_lake: OldLake, s3_env: dict, tmp_path: Path) -> None:
    shutil.copytree(old_lake.root / "lake", s3_env["folder"] / "news" / "migrate")
    lake = location("s3://news/migrate")
    assert migrate.old_layout(lake)

    done = migrate.migrate(lake)

    assert done is not None and done.runs == old_lake.runs and done.rewritten == {"quotes": 3, "signatures": 3}
    assert migrate.migrate(lake) is None
    build_database(lake, tmp_path / "news.duckdb")
    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:
        reach_object_store(con, lake)
        for name in ("main.documents", "main.entities", "main.quotes", "main.runs", "main.entity_mentions_daily"):
            before = old_lake.views[name]
            after = con.sql(f"select * from {name}").to_arrow_table()
            columns = [c for c in before.column_names if c not in MOST_FREQUENT.get(name.split(".")[1], ())]
            assert rows(after, columns) == rows(before, columns), name
    registered = delta.partitions(
        delta.open_table(lake, SIGNATURES)
    )  # the log only: rclone answers delta-rs range reads whole
    assert {day: sum(f.rows for f in files) for day, files in registered.items()} == {
        str(day): n for day, n in Counter(old_lake.views["lake.signatures"]["date"].to_pylist()).items()
    }

"""The database edge, tried for real: a full disk during the refresh, unwritable or foreign --db paths, killed
refreshes' left-overs, and query sessions that try to write or read outside the lake and the database."""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import s3fs
from test_storage import s3_endpoint, s3_env  # noqa: F401 (fixtures: a real S3 server)

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.errors import UserError
from pipeline.storage import IO_THREADS, location
from pipeline.storage.s3 import fs_options
from pipeline.views import build_database, check_database_target, connect, query, temp_path

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
DOCUMENTS = 38  # documents in the sample lake, every date


def news_etl(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEWS_ETL), *map(str, args)], capture_output=True, text=True, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The CLI failed the way a user should see it: exit 2, a single line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def answers(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from documents").fetchone()[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or p.name.endswith(".wal"))


@contextlib.contextmanager
def tmpfs(folder: Path, size_kb: int, *options: str):
    """A small filesystem of its own at folder (root only), unmounted afterwards whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size_kb}k", *options]), "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path, leave_bytes: int) -> Path:
    """Fill the filesystem of folder until only about leave_bytes are free."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave_bytes))
    return filler


# A full disk during the refresh ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "free_kb",
    [
        pytest.param(8, id="full-while-writing-the-views"),
        pytest.param(96, id="full-during-the-checkpoint"),
    ],
)
def test_a_full_disk_keeps_the_previous_database(sample_lake, tmp_path, free_kb):
    size_kb = sample_lake.db.stat().st_size // 1024 + 512
    with tmpfs(tmp_path / "disk", size_kb) as disk:
        db = disk / "news.duckdb"
        shutil.copy(sample_lake.db, db)
        before = digest(db)
        filler = fill(disk, free_kb * 1024)

        result = news_etl("views", "--lake", sample_lake.lake, "--db", db)
        line = one_line_error(result, f"could not build {db}", "No space left on device")
        assert "views" not in result.stdout
        assert digest(db) == before and answers(db) == DOCUMENTS, line
        assert leftovers(disk) == []
        with pytest.raises(UserError, match="No space left on device"):  # the DAG's call, in-process
            build_database(sample_lake.lake, db)
        assert leftovers(disk) == [] and answers(db) == DOCUMENTS

        filler.unlink()  # space again: the next refresh just works
        assert news_etl("views", "--lake", sample_lake.lake, "--db", db).returncode == 0
        assert answers(db) == DOCUMENTS and leftovers(disk) == []


def test_run_exits_non_zero_when_the_refresh_hits_a_full_disk(sample_lake, tmp_path):
    size_kb = sample_lake.db.stat().st_size // 1024 + 512
    with tmpfs(tmp_path / "disk", size_kb) as disk:
        db = disk / "news.duckdb"
        shutil.copy(sample_lake.db, db)
        before = digest(db)
        fill(disk, 64 * 1024)
        day = SAMPLE_DATES[0].isoformat()
        result = news_etl("run", "--date", day, "--raw-root", SAMPLE_RAW, "--lake", tmp_path / "lake", "--db", db)
        one_line_error(result, f"could not build {db}", "No space left on device", f"{day} is committed")
        assert f"{day}: " in result.stdout  # the partition itself was committed
        assert digest(db) == before and answers(db) == DOCUMENTS
        assert leftovers(disk) == []


def lake_files(lake: Path) -> set[Path]:
    return {p.relative_to(lake) for p in lake.rglob("*") if p.is_file()}


def test_a_full_disk_under_the_lake_fails_the_run_and_leaves_nothing(tmp_path):
    """The lake on a small disk, filled to leave less and less room: the run fails at the lock, in a shard,
    at the commit; each time with one line naming the file, the date's current rows untouched, and not a
    byte left behind. With room again, the next run just works."""
    day = SAMPLE_DATES[0].isoformat()
    with tmpfs(tmp_path / "disk", 4096) as disk:
        lake, db = disk / "lake", tmp_path / "news.duckdb"
        run = ("run", "--date", day, "--raw-root", SAMPLE_RAW, "--lake", lake, "--db", db)
        assert news_etl(*run).returncode == 0
        documents = answers(db)
        before = lake_files(lake)
        failed_at = set()
        for leave_kb in (0, 40, 88, 92):  # found by trying: the lock, a shard, the two commit writes
            filler = fill(disk, leave_kb * 1024)
            result = news_etl(*run, "--force")
            filler.unlink()
            line = one_line_error(result, "could not write", "No space left on device")
            failed_at.add(Path(line.split("could not write ")[1].split(":")[0]).relative_to(lake).parts[0])
            assert lake_files(lake) == before, line  # no plan, receipt, shard file or staged file left
            build_database(lake, db)
            assert answers(db) == documents
        assert len(failed_at) >= 3, failed_at  # the disk filled at different steps
        assert news_etl(*run, "--force").returncode == 0
        assert answers(db) == documents


# Left-overs of killed refreshes ---------------------------------------------------------------------------


def killed_refresh(db: Path) -> int:
    """A process that dies (SIGKILL) in the middle of writing its temporary database; returns its pid."""
    script = (
        "import duckdb, os, signal, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('create view v as select 1')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(temp_path(db, 0))])
    child.wait()
    assert child.returncode == -signal.SIGKILL
    # named after its own pid, as build_database names it
    for suffix in ("", ".wal"):
        Path(f"{temp_path(db, 0)}{suffix}").rename(f"{temp_path(db, child.pid)}{suffix}")
    return child.pid


def test_the_next_build_removes_what_killed_refreshes_left(sample_lake, tmp_path):
    db = tmp_path / "news.duckdb"
    dead = killed_refresh(db)
    assert leftovers(tmp_path) == sorted([f".news.duckdb.{dead}.tmp", f".news.duckdb.{dead}.tmp.wal"])
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        running = temp_path(db, sleeper.pid)  # a refresh still at work: kept
        running.write_bytes(b"")
        old = temp_path(db, os.getppid())  # a live pid but too old: its pid was reused, or it hangs
        old.write_bytes(b"")
        os.utime(old, (0, 0))
        other = tmp_path / ".other.duckdb.1.tmp"  # another database's: not ours to touch
        other.write_bytes(b"")

        build_database(sample_lake.lake, db)
        assert answers(db) == DOCUMENTS
        assert leftovers(tmp_path) == sorted([running.name, other.name])
    finally:
        sleeper.kill()
        sleeper.wait()


# Settings checked before any work -------------------------------------------------------------------------


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write in, root included: a read-only tmpfs (root), or mode 555 otherwise."""
    folder = tmp_path / "readonly"
    if os.geteuid() == 0:
        with tmpfs(folder, 64, "ro"):
            yield folder
    else:
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


def committed(lake: Path) -> list[Path]:
    return list(lake.glob("runs/date=*/*.parquet"))


@pytest.mark.parametrize("where", ["read-only folder", "a folder", "under a file"])
def test_an_unwritable_database_fails_the_run_before_the_plan(read_only_folder, tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    db, message = {
        "read-only folder": (read_only_folder / "news.duckdb", "cannot write in"),
        "a folder": (tmp_path, "is a folder"),
        "under a file": (tmp_path / "a-file" / "news.duckdb", "cannot write in"),
    }[where]
    lake = tmp_path / "lake"
    result = news_etl("run", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--lake", lake, "--db", db)
    one_line_error(result, f"database {db}", message)
    assert committed(lake) == [] and not list(lake.glob("_runs/*"))  # no plan, no partition
    assert "shard" not in result.stderr
    with pytest.raises(UserError, match=message):
        check_database_target(db)


def test_views_into_a_read_only_folder_is_one_line(sample_lake, read_only_folder):
    db = read_only_folder / "news.duckdb"
    one_line_error(news_etl("views", "--lake", sample_lake.lake, "--db", db), "cannot write in")


def foreign_databases(folder: Path) -> dict[str, tuple[Path, str]]:
    csv = folder / "export.csv"
    csv.write_text("doc_id,title\n1,hello\n")
    with_table = folder / "analysis.duckdb"
    with duckdb.connect(str(with_table)) as con:
        con.execute("create table findings as select 42 as answer")
        con.execute("create view documents as select * from findings")
    only_views = folder / "other.duckdb"
    with duckdb.connect(str(only_views)) as con:
        con.execute("create view greeting as select 'hello' as word")
    return {
        "csv": (csv, "is not a DuckDB database"),
        "duckdb with a table": (with_table, "holds more than our views (table main.findings)"),
        "duckdb with other views": (only_views, "holds views that are not ours"),
    }


@pytest.mark.parametrize("kind", ["csv", "duckdb with a table", "duckdb with other views"])
def test_a_file_that_is_not_our_database_is_never_replaced(sample_lake, tmp_path, kind):
    db, reason = foreign_databases(tmp_path)[kind]
    before = digest(db)
    one_line_error(news_etl("views", "--lake", sample_lake.lake, "--db", db), f"--db {db} {reason}", "refusing")
    lake = tmp_path / "lake"
    result = news_etl("run", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--lake", lake, "--db", db)
    one_line_error(result, reason)
    assert committed(lake) == []
    assert digest(db) == before
    assert leftovers(tmp_path) == []


def test_our_database_and_an_empty_one_are_replaced(sample_lake, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    ours = tmp_path / "news.duckdb"
    shutil.copy(sample_lake.db, ours)
    for db in (empty, ours):
        check_database_target(db)
        build_database(sample_lake.lake, db)
        assert answers(db) == DOCUMENTS


# Query sessions: read the lake and the database, nothing else ----------------------------------------------


def every_view(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    return [f"{schema}.{name}" for schema, name in rows]


def refused_statements(lake: Path, outside: Path) -> dict[str, str]:
    """What a hostile query tries, with the words of its refusal."""
    return {
        f"copy (select * from documents) to '{lake}/runs/date=2000-01-01/forged.parquet'": "COPY statements",
        f"copy (select 1) to '{outside}/x.csv'": "COPY statements",
        f"attach '{outside}/other.duckdb' as other": "ATTACH statements",
        "attach ':memory:' as scratch": "ATTACH statements",
        "install httpfs": "LOAD statements",
        "load httpfs": "LOAD statements",
        "select * from read_text('/etc/passwd')": "Permission Error",
        f"select * from read_csv('{outside}/secret.csv')": "Permission Error",
        f"select * from read_text('{lake}/../secret.csv')": "Permission Error",
        "select * from glob('/etc/*')": "Permission Error",
        "set enable_external_access = true": "SET statements",
        "set allowed_directories = ['/']": "SET statements",
        "pragma threads = 1": "SET statements",
        "create table memory.scratch as select 1": "CREATE statements",
        "insert into documents select * from documents": "INSERT statements",
        f"export database '{lake}/dump'": "EXPORT statements",
        f"explain analyze copy (select 1) to '{lake}/x.csv'": "EXPLAIN statements",
        f"select 1; copy (select 1) to '{lake}/y.csv'": "COPY statements",
        "call checkpoint()": "CALL statements",
        "detach news": "DETACH statements",
    }


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.csv").write_text("password\nhunter2\n")
    return folder


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


def test_queries_can_neither_write_nor_read_outside(sample_lake, outside):
    lake = Path(str(sample_lake.lake))
    (lake.parent / "secret.csv").write_text("password\n")
    before = files_under(lake), files_under(outside), digest(sample_lake.db)
    for sql, refusal in refused_statements(lake, outside).items():
        with pytest.raises(UserError, match=refusal):
            result = query(sample_lake.db, sql, sample_lake.lake)
            result.fetchall()  # a select is read when its rows are asked for
    assert (files_under(lake), files_under(outside), digest(sample_lake.db)) == before


def test_every_view_and_read_only_statement_still_works(sample_lake):
    for view in every_view(sample_lake.db):
        assert query(sample_lake.db, f"select count(*) from {view}").fetchone()[0] >= 0, view
    assert query(sample_lake.db, "select count(*) from documents").fetchone() == (DOCUMENTS,)
    for sql in (
        "describe documents",
        "show tables",
        "summarize lake.runs",
        "pragma table_info('entities')",
        "explain select * from entity_mentions_daily",
        "explain analyze select count(*) from documents",
        "/* a comment */ with d as (select * from documents) select count(*) from d",
        f"select count(*) from read_parquet('{sample_lake.lake}/documents/*/*.parquet')",  # the lake itself
    ):
        assert query(sample_lake.db, sql).fetchall(), sql


def test_a_notebook_connection_is_sandboxed_and_the_views_resolve_under_any_name(sample_lake, tmp_path):
    """Whatever the file is called (not an identifier, a reserved catalog name, a schema's name)."""
    for name in ("analysis 2026.duckdb", "memory.duckdb", "lake.duckdb", "main.duckdb"):
        db = tmp_path / name
        shutil.copy(sample_lake.db, db)
        con = connect(db)  # the lake comes from the database itself
        assert con.sql("select count(*) from entity_mentions_daily").fetchone()[0] > 0
        assert con.sql("select count(*) from lake.documents").fetchone() == (DOCUMENTS,)
        for sql in ("select * from read_text('/etc/passwd')", f"copy (select 1) to '{tmp_path}/x.csv'"):
            with pytest.raises(duckdb.PermissionException):
                con.sql(sql).fetchall()
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("set enable_external_access = true")
        con.close()
    assert not (tmp_path / "x.csv").exists()


def test_a_database_without_its_lake_recorded_uses_the_lake_given(sample_lake, tmp_path):
    """Databases built before the lake was recorded in them still open, with the lake from the settings."""
    db = tmp_path / "old.duckdb"
    shutil.copy(sample_lake.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("comment on view lake.runs is null")
        con.execute("checkpoint")
    with pytest.raises(UserError, match="does not say which lake"):
        connect(db)
    assert query(db, "select count(*) from documents", sample_lake.lake).fetchone() == (DOCUMENTS,)


def test_news_etl_sql_refuses_with_one_line(sample_lake, outside, tmp_path):
    lake = Path(str(sample_lake.lake))
    before = files_under(lake), files_under(outside)
    tried = {
        f"copy (select * from lake.runs) to '{lake}/runs/date=2000-01-01/forged.parquet'": "COPY statements",
        f"copy (select 1) to '{outside}/x.csv'": "COPY statements",
        f"attach '{sample_lake.db}' as rw (read_only false)": "ATTACH statements",
        "install httpfs": "LOAD statements",
        "load httpfs": "LOAD statements",
        "select * from read_text('/etc/passwd')": "Permission Error",
        f"select * from read_csv('{outside}/secret.csv')": "Permission Error",
        "set enable_external_access = true": "SET statements",
        "set allowed_directories = ['/']": "SET statements",
    }
    for sql, refusal in tried.items():
        one_line_error(news_etl("sql", "--db", sample_lake.db, sql, cwd=tmp_path), refusal)
    assert (files_under(lake), files_under(outside)) == before
    views = every_view(sample_lake.db)
    union = " union all ".join(f"select '{view}' as view, count(*) as n from {view}" for view in views)
    answer = news_etl("sql", "--db", sample_lake.db, "--max-rows", len(views), union, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert all(view in answer.stdout for view in views)


def test_an_s3_lake_is_queried_in_the_sandbox(s3_env, sample_lake, tmp_path):  # noqa: F811
    store = s3fs.S3FileSystem(**fs_options(IO_THREADS))
    store.put(f"{sample_lake.lake}/", "news/edges/lake", recursive=True)
    store.pipe("news/elsewhere/secret.csv", b"password\nhunter2\n")
    lake = location("s3://news/edges/lake")
    settings = make_settings(tmp_path, lake=str(lake))
    build_database(settings.lake, settings.db)
    assert query(settings.db, "select count(*) from documents").fetchone() == (DOCUMENTS,)
    with pytest.raises(UserError, match="Permission Error"):
        query(settings.db, "select * from read_csv('s3://news/elsewhere/secret.csv')").fetchall()
    with pytest.raises(UserError, match="COPY statements"):
        query(settings.db, "copy (select 1) to 's3://news/edges/lake/x.csv'")
    assert not store.exists("news/edges/lake/x.csv")

"""The last stage: the DuckDB database of views over the lake, built from the files in sql/.

The database holds only views (SQL text), so it is rebuilt whole each time: into a new file beside the
old one, checkpointed, then renamed over it. Analysts who have the old file open keep reading it undisturbed
and never block the rebuild; their next connection sees the new one. A failed build (a full disk...) leaves
the old file as it was, and its temporary files are removed then, or by the next build if it was killed.

Queries (`connect`, `query`, `news-etl sql`) run in a sandbox: an in-memory DuckDB with the database attached
read-only, able to read only the lake and that file, its settings locked; `query` also runs only statements
that read (select, describe, show, summarize, explain).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import duckdb
import pyarrow as pa

from pipeline.errors import UserError
from pipeline.extract.entities import NAME_LABELS
from pipeline.lake import RUNS, current_files, current_runs, lake_paths
from pipeline.migrate import refuse_old_layout
from pipeline.registry import TABLES
from pipeline.rollups import missing_dates
from pipeline.storage import Location, backend, location
from pipeline.tables import Table

log = logging.getLogger(__name__)
LAYERS = ("staging", "marts")  # hand-written views, built in this order after the generated lake layer
VIEW_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# A build takes seconds: a temporary database older than this belongs to a refresh that was killed.
STALE_TEMP_SECONDS = 600
# A database of views is a few hundred KB; a bigger file is someone's data, and is not copied to be checked.
MAX_OURS_BYTES = 64 * 1024 * 1024
CATALOG = "news"  # the database's name in a query session
# The comment on lake.runs: which lake the views read, so that a query session allows that one.
LAKE_COMMENT = "news-etl: views over the lake at "
# A string literal in SQL as DuckDB prints a view's definition ('' inside is one quote).
SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
# The prefix of an explain statement, before the statement it explains.
EXPLAIN = re.compile(r"\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*explain(?:\s+analy[sz]e\b|\s*\([^)]*\))?", re.I | re.S)


@dataclass(frozen=True)
class View:
    name: str  # schema-qualified when not in main: lake.documents
    select: str
    source: str  # where it was defined, for error messages


def sql_dir() -> Path:
    """sql/ at the repository root in a checkout; pipeline/sql inside an installed wheel."""
    for candidate in (Path(__file__).parent / "sql", Path(__file__).parent.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise UserError("cannot find the sql/ folder of view definitions")


def view_sources(lake: Location, files: dict[str, list[str]], root: Path | None = None) -> list[View]:
    """Every view, in the order they are created; each reads only views before it.

    1. lake.<table> for every registry table: its declared columns, read from its files (by table name:
       lake_files) through the sql/lake/*.sql templates; lake.current_runs right after lake.runs.
    2. main.<table>: sql/staging/<table>.sql where a table adds columns, else all of lake.<table>; plus any
       other staging file (current_runs).
    3. sql/marts/*.sql, in name order, built on the staging views (main.<view>).
    """
    root = root or sql_dir()
    values = {
        "lake": str(lake).replace("'", "''"),  # it sits inside '...' in the sql files
        "name_labels": name_labels(),
    }

    def template(path: Path, **more: str) -> str:
        return Template(path.read_text(encoding="utf-8")).substitute(values | more)

    lake_views = []
    for table in sorted(TABLES, key=lambda t: t.written_by != "run"):
        paths = files.get(table.name, [])
        path = root / "lake" / ("current.sql" if paths else "no_files.sql")
        select = template(
            path,
            table=table.name,
            columns=columns_of(table),
            files=sql_list(paths),
            typed_nulls=typed_nulls(table),
        )
        lake_views.append(View(f"lake.{table.name}", select, str(path)))
        if table.written_by == "run":
            path = root / "lake" / "current_runs.sql"
            lake_views.append(View("lake.current_runs", template(path), str(path)))
    staging = {path.stem: path for path in sorted((root / "staging").glob("*.sql"))}
    views = []
    for table in TABLES:
        path = staging.pop(table.name, None)
        select = template(path) if path else f"select * from lake.{table.name}"
        views.append(View(table.name, select, str(path or "pipeline/registry.py")))
    marts = sorted((root / "marts").glob("*.sql"))
    views += [View(path.stem, template(path), str(path)) for path in [*staging.values(), *marts]]
    for view in views:
        if not VIEW_NAME.match(view.name):
            raise UserError(f"{view.source}: a view file name must be a lower-case SQL identifier")
    return lake_views + views


def name_labels() -> str:
    """The labels that name something (is_name), as an SQL list's items: what $name_labels stands for."""
    return ", ".join(f"'{label}'" for label in sorted(NAME_LABELS))


def column_names(table: Table) -> list[str]:
    """The table's declared columns, its key and the partition date first."""
    return [table.key, "date", *(name for name, _, _ in table.all_columns if name != table.key)]


def columns_of(table: Table) -> str:
    return ", ".join(f'"{name}"' for name in column_names(table))


def lake_files(lake: Location) -> dict[str, list[str]]:
    """Every table's files that hold current rows (see lake.current_files), as paths DuckDB reads."""
    runs = current_runs(lake)
    return {
        table.name: [str(path) for day in sorted(runs) for path in lake_paths(lake, table, current.get(day, []))]
        for table in TABLES
        for current in [current_files(lake, table, runs)]
    }


def sql_list(paths: list[str]) -> str:
    return "[" + ", ".join(sql_string(path) for path in paths) + "]"


def typed_nulls(table: Table) -> str:
    """`cast(null as <type>) as "<column>"` for each declared column, DuckDB's types derived from Arrow's."""
    empty = duckdb.from_arrow(table.schema.append(pa.field("date", pa.date32())).empty_table())
    kinds = dict(zip(empty.columns, empty.types, strict=True))
    return ", ".join(f'cast(null as {kinds[name]}) as "{name}"' for name in column_names(table))


def create_views(con: duckdb.DuckDBPyConnection, views: list[View]) -> None:
    con.execute("create schema if not exists lake")
    for view in views:
        try:
            con.execute(f"create or replace view {view.name} as {view.select}")
        except duckdb.Error as error:
            raise UserError(f"view {view.name} ({view.source}): {str(error).splitlines()[0]}") from None


def check_database_target(db: Path) -> None:
    """Fail before any work unless the views can be written at db: its folder writable, and at db nothing,
    or a database of ours (see not_ours), which a build may replace. For a run to call before its plan."""
    if db.is_dir():
        raise UserError(f"database {db} is a folder: give the path of a file (--db or NEWS_DB)")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=db.parent):  # on Linux an unnamed file: nothing to leave behind
            pass
    except OSError as error:
        raise UserError(f"database {db}: cannot write in {db.parent}: {error.strerror or error}") from None
    if os.path.lexists(db):
        reason = not_ours(db)
        if reason:
            raise UserError(f"--db {db} {reason}: refusing to replace it (move it away or choose another path)")


def not_ours(db: Path) -> str | None:
    """Why the file at db is not a database `news-etl views` built, or None if it is one.

    Ours: a DuckDB file holding nothing but views, in the schemas main and lake, among them current_runs
    (every version of this project made one); or holding nothing at all. Such a file is only SQL text that
    the next build writes again, so replacing it loses nothing; anything else (a table, another schema, a
    macro, a file that is not DuckDB's) may be someone's data and is refused.
    """
    try:
        info = db.stat()
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        if info.st_size > MAX_OURS_BYTES:
            return f"holds {info.st_size // 2**20} MB, far more than a database of views"
        with db.open("rb") as file:
            if file.read(12)[8:12] != b"DUCK":  # DuckDB's magic bytes
                return "is not a DuckDB database"
        objects = objects_in(db)
    except (OSError, duckdb.Error) as error:
        return f"cannot be read as a DuckDB database ({first_line(error)})"
    if not objects:
        return None
    foreign = [
        f"{kind} {schema}.{name}"
        for kind, schema, name in objects
        if not (kind == "view" and schema in ("main", "lake")) and not (kind == "schema" and name == "lake")
    ]
    if foreign:
        return f"holds more than our views ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})"
    if not any(name == "current_runs" for _, _, name in objects):
        return "holds views that are not ours (no current_runs)"
    return None


def objects_in(db: Path) -> list[tuple[str, str, str]]:
    """(kind, schema, name) of what a DuckDB file holds, read without writing to it."""
    return read_meta(db, "objects.sql")


def read_meta(db: Path, name: str, is_copy: bool = False) -> list[tuple]:
    """The rows of sql/meta/<name> over a DuckDB file attached read-only as `probe`, without writing to it."""
    with duckdb.connect() as con:
        try:
            con.execute(f"attach {sql_string(db)} as probe (read_only)")
        except (duckdb.IOException, duckdb.BinderException):
            if is_copy:
                raise
            # Someone holds it read-write (an analyst's duckdb shell), or this process has it open: read a copy.
            with tempfile.TemporaryDirectory(prefix="news-etl-check-") as folder:
                copy = Path(folder) / db.name
                shutil.copyfile(db, copy)
                return read_meta(copy, name, is_copy=True)
        return con.execute((sql_dir() / "meta" / name).read_text(encoding="utf-8")).fetchall()


def database_files(db: Path) -> set[str]:
    """The lake files the views of the database at db read (none when there is no database): a database built
    before a compaction still reads the files it replaced, so vacuum keeps these whatever their age."""
    if not os.path.lexists(db):
        return set()
    try:
        rows = read_meta(db, "lake_files.sql")
    except (OSError, duckdb.Error) as error:
        raise UserError(f"cannot tell which lake files {db} reads ({first_line(error)}); nothing deleted") from None
    found = set()
    for (sql,) in rows:
        for literal in SQL_STRING.findall(sql):
            path = literal.replace("''", "'")
            if not path.endswith(".parquet"):
                continue
            if any(char in path for char in "*?["):
                raise UserError(
                    f"{db} reads the lake by pattern ({path}), as databases built before the Delta lake did: "
                    "run `news-etl views` first"
                )
            found.add(path)
    return found


def build_database(lake: Location, db: Path) -> list[str]:
    """Write the database of views to db atomically; returns the view names.

    Any error (a full disk, in the views or in DuckDB's checkpoint) raises UserError naming db, with the
    previous file left as it was and no temporary file left behind.
    """
    check_database_target(db)
    try:
        refuse_old_layout(lake)  # a database build never writes to the lake
        files = lake_files(lake)
    except OSError as error:
        raise UserError(f"cannot read the lake {lake}: {error}") from None
    if not files[RUNS.name]:
        raise UserError(f"no committed partition in {lake} yet: run `news-etl run --date YYYY-MM-DD` first")
    lacking = missing_dates(lake, current_runs(lake))
    if lacking:  # the entity marts sum the rollups: these dates are not in them yet
        log.warning(
            "%d dates (%s...) have no rollups (committed before them): `news-etl maintain` writes them",
            len(lacking),
            lacking[0],
        )
    views = view_sources(lake, files)
    remove_leftovers(db)
    tmp = temp_path(db, os.getpid())
    wal = tmp.with_name(f"{tmp.name}.wal")
    try:
        for path in (tmp, wal):
            path.unlink(missing_ok=True)
        with duckdb.connect(str(tmp)) as con:
            reach_object_store(con, lake)
            create_views(con, views)
            con.execute(f"comment on view lake.runs is {sql_string(LAKE_COMMENT + str(lake))}")
            # Explicitly: the checkpoint DuckDB makes on close swallows write errors (on a full disk it left
            # a database without views, and exit code 0).
            con.execute("checkpoint")
        if wal.exists():  # a complete checkpoint leaves no WAL
            raise UserError(f"DuckDB's checkpoint of {tmp} did not complete")
        os.replace(tmp, db)
    except (duckdb.Error, OSError, UserError) as error:
        raise UserError(f"could not build {db} (left as it was): {first_line(error)}") from None
    finally:
        for path in (tmp, wal):
            remove_quietly(path)
    return [view.name for view in views]


def temp_path(db: Path, pid: int) -> Path:
    """Where process pid builds the database before renaming it to db (DuckDB adds `.wal` beside it)."""
    return db.with_name(f".{db.name}.{pid}.tmp")


def remove_leftovers(db: Path) -> None:
    """Remove the temporary databases (and WAL files) of refreshes that were killed: their process is gone,
    or they are older than any refresh takes."""
    pattern = re.compile(rf"\.{re.escape(db.name)}\.(\d+)\.tmp(\.wal)?")
    for path in db.parent.glob(f".{glob.escape(db.name)}.*.tmp*"):
        match = pattern.fullmatch(path.name)
        if not match or int(match[1]) == os.getpid():
            continue
        try:
            if not process_alive(int(match[1])) or time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                path.unlink()
                log.info("removed %s, left by a refresh that did not finish", path)
        except FileNotFoundError:
            pass  # its refresh has just finished
        except OSError as error:
            log.warning("cannot remove %s: %s", path, error)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("cannot remove %s: %s", path, error)


def connect(db: Path, lake: Location | None = None) -> duckdb.DuckDBPyConnection:
    """A sandboxed connection to the views, able to read the lake wherever it is.

    In memory, with db attached read-only as the default catalog `news` (views bind in their own catalog,
    whatever it is called; the file's own name could clash with the schemas lake and main, or be reserved).
    DuckDB may then read only db and the lake its views read (recorded in db by the build; `lake` is for
    databases built before that), write only its own private temp files and, through COPY, the lake (`query`
    refuses such statements), load no extension, and change no setting.
    """
    if not db.is_file():
        raise UserError(f"no database at {db}: run `news-etl views` first")
    spill = Path(tempfile.gettempdir()) / f"news-etl-sql-{secrets.token_hex(8)}"  # DuckDB makes and removes it
    con = duckdb.connect()
    try:
        con.execute(f"set temp_directory = {sql_string(spill)}")
        con.execute(f"attach {sql_string(db)} as {CATALOG} (read_only)")
        con.execute(f"use {CATALOG}")
        lake = lake_of(con) or lake
        if lake is None:
            raise UserError(f"{db} does not say which lake its views read: give the lake (--lake or NEWS_LAKE)")
        reach_object_store(con, lake)  # httpfs is loaded and the secret made while that is still allowed
        con.execute(f"set allowed_directories = [{sql_string(str(lake).rstrip('/') + '/')}]")
        con.execute("set enable_external_access = false")  # in this order: it freezes allowed_directories
        con.execute("set lock_configuration = true")
    except duckdb.Error as error:
        con.close()
        raise UserError(f"cannot open {db}: {first_line(error)}") from None
    except BaseException:
        con.close()
        raise
    return con


def lake_of(con: duckdb.DuckDBPyConnection) -> Location | None:
    """The lake the attached database's views read, as recorded by build_database (None before it did)."""
    found = con.execute(
        "select comment from duckdb_views() where database_name = ? and schema_name = 'lake' and view_name = 'runs'",
        [CATALOG],
    ).fetchone()
    if not found or not str(found[0] or "").startswith(LAKE_COMMENT):
        return None
    return location(found[0].removeprefix(LAKE_COMMENT))


def query(db: Path, sql: str, lake: Location | None = None) -> duckdb.DuckDBPyRelation | None:
    """Run statements that only read against the views; returns the last one's result."""
    con = connect(db, lake)
    try:
        check_read_only(con, sql)
        try:
            return con.sql(sql)
        except duckdb.Error:
            con.execute(sql)  # the same error again, with the LINE 1 ... ^ caret that only execute gives
            raise
    except duckdb.Error as error:
        con.close()
        raise UserError(duckdb_message(error)) from None
    except BaseException:
        con.close()
        raise


def results(db: Path, sql: str, lake: Location | None = None) -> Iterator[tuple[list[str], duckdb.DuckDBPyConnection]]:
    """Each statement's column names and its executed connection to fetch rows from, in turn (every statement
    checked to only read before the first runs). `execute`, not `sql`: only its errors carry DuckDB's
    LINE 1 ... ^ caret."""
    with connect(db, lake) as con:
        try:
            check_read_only(con, sql)
            for statement in con.extract_statements(sql):
                con.execute(statement.query)
                if con.description is not None:
                    yield [column[0] for column in con.description], con
        except duckdb.Error as error:
            raise UserError(duckdb_message(error)) from None


def duckdb_message(error: duckdb.Error) -> str:
    """DuckDB's whole message: its suggestions ("Did you mean ...") and the LINE 1 ... ^ caret included."""
    return str(error).strip() or type(error).__name__


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse every statement but those that only read. The sandbox already stops reading or writing
    elsewhere; this also stops COPY into the lake, ATTACH, CREATE, SET and the like."""
    for statement in con.extract_statements(sql):  # this connection's parser: IMPORT reads files as it parses
        if not reads_only(con, statement):
            raise UserError(
                f"{statement.type.name} statements are refused: this session only reads "
                "(select, describe, show, summarize, explain)"
            )


def reads_only(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> bool:
    if statement.type.name == "EXPLAIN":  # explain analyze runs its statement: check that one
        inner = EXPLAIN.sub("", statement.query, count=1)
        try:
            explained = con.extract_statements(inner) if inner != statement.query else []
        except duckdb.Error:
            return False
        return len(explained) == 1 and reads_only(con, explained[0])
    return statement.type.name == "SELECT"  # describe, show, summarize and read-only pragmas parse as select


def reach_object_store(con: duckdb.DuckDBPyConnection, lake: Location) -> None:
    """Let DuckDB read the lake wherever it is: the lake's backend sets up what it needs (for S3: the httpfs
    extension and a session secret from the AWS_* environment; nothing for a local folder)."""
    try:
        backend(lake).prepare_duckdb(con, os.environ)
    except duckdb.Error as error:
        raise UserError(f"DuckDB cannot reach {lake}: {str(error).splitlines()[0]}") from None


def sql_string(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]

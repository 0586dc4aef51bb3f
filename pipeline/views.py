"""The last stage: the DuckDB database of views over the lake, built from the files in sql/.

The database holds only views (SQL text), so it is rebuilt whole each time: into a new file beside the
old one, then renamed over it. Analysts who have the old file open keep reading it undisturbed and never
block the rebuild; their next connection sees the new one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from string import Template

import duckdb

from pipeline.errors import UserError
from pipeline.storage import Location, backend

LAYERS = ("staging", "marts")  # marts are built on staging; only staging knows where the lake is
VIEW_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def sql_dir() -> Path:
    """sql/ at the repository root in a checkout; pipeline/sql inside an installed wheel."""
    for candidate in (Path(__file__).parent / "sql", Path(__file__).parent.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise UserError("cannot find the sql/ folder of view definitions")


def view_sources(lake: Location, root: Path | None = None) -> list[tuple[str, str]]:
    """(view name, select statement) for every sql file, the lake path filled in as a quoted literal."""
    root = root or sql_dir()
    lake_literal = str(lake).replace("'", "''")  # it sits inside '...' in the sql files
    views = []
    for layer in LAYERS:
        for path in sorted((root / layer).glob("*.sql")):
            if not VIEW_NAME.match(path.stem):
                raise UserError(f"{path}: a view file name must be a lower-case SQL identifier")
            views.append((path.stem, Template(path.read_text(encoding="utf-8")).substitute(lake=lake_literal)))
    return views


def create_views(con: duckdb.DuckDBPyConnection, views: list[tuple[str, str]]) -> None:
    """Create views in any order they can be bound: a view waits until the views it reads exist.

    A view that reads a missing view fails to bind (a catalog error, or "circular reference" when its import
    CTE has the missing view's name); it is tried again after the others, and only a pass in which nothing
    could be created is an error.
    """
    pending = list(views)
    while pending:
        failed: list[tuple[str, str]] = []
        error: duckdb.Error | None = None
        for name, select in pending:
            try:
                con.execute(f'create or replace view "{name}" as {select}')
            except duckdb.Error as missing:
                failed.append((name, select))
                error = missing
        if len(failed) == len(pending):
            raise UserError(f"view {failed[0][0]}: {str(error).splitlines()[0]}")
        pending = failed


def build_database(lake: Location, db: Path) -> list[str]:
    """Write the database of views to db atomically; returns the view names."""
    try:
        committed = any((lake / "runs").glob("date=*/*.parquet"))
    except OSError as error:
        raise UserError(f"cannot list the lake {lake}: {error}") from None
    if not committed:
        raise UserError(f"no committed partition in {lake} yet: run `news-etl run --date YYYY-MM-DD` first")
    views = view_sources(lake)
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(tmp)) as con:
            reach_object_store(con, lake)
            create_views(con, views)
        os.replace(tmp, db)
    except (duckdb.Error, OSError) as error:
        raise UserError(f"could not build {db}: {str(error).splitlines()[0]}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return [name for name, _ in views]


def connect(db: Path, lake: Location) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the views, able to read the lake wherever it is."""
    if not db.exists():
        raise UserError(f"no database at {db}: run `news-etl views` first")
    con = duckdb.connect(str(db), read_only=True)
    reach_object_store(con, lake)
    return con


def query(db: Path, sql: str, lake: Location) -> duckdb.DuckDBPyRelation | None:
    """Run one statement read-only against the views; the caller prints the result."""
    con = connect(db, lake)
    try:
        return con.sql(sql)
    except duckdb.Error as error:
        raise UserError(str(error).splitlines()[0]) from None


def reach_object_store(con: duckdb.DuckDBPyConnection, lake: Location) -> None:
    """Let DuckDB read the lake wherever it is: the lake's backend sets up what it needs (for S3: the httpfs
    extension and a session secret from the AWS_* environment; nothing for a local folder)."""
    try:
        backend(lake).prepare_duckdb(con, os.environ)
    except duckdb.Error as error:
        raise UserError(f"DuckDB cannot reach {lake}: {str(error).splitlines()[0]}") from None

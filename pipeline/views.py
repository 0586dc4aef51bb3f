"""The last stage: the DuckDB database of views over the lake, built from the files in sql/.

The database holds only views (SQL text), so it is rebuilt whole each time: into a new file beside the
old one, then renamed over it. Analysts who have the old file open keep reading it undisturbed and never
block the rebuild; their next connection sees the new one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import duckdb

from pipeline.errors import UserError
from pipeline.extract.entities import NAME_LABELS
from pipeline.registry import TABLES
from pipeline.storage import Location, backend
from pipeline.tables import Table

LAYERS = ("staging", "marts")  # hand-written views, built in this order after the generated lake layer
VIEW_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


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


def view_sources(lake: Location, root: Path | None = None) -> list[View]:
    """Every view, in the order they are created; each reads only views before it.

    1. lake.<table> for every registry table: its declared columns, read from the lake (sql/lake/*.sql
       templates); lake.current_runs right after lake.runs, since the others filter on it.
    2. main.<table>: sql/staging/<table>.sql where a table adds columns, else all of lake.<table>; plus any
       other staging file (current_runs).
    3. sql/marts/*.sql, in name order, built on the staging views (main.<view>).
    """
    root = root or sql_dir()
    values = {
        "lake": str(lake).replace("'", "''"),  # it sits inside '...' in the sql files
        "name_labels": ", ".join(f"'{label}'" for label in sorted(NAME_LABELS)),
    }

    def template(path: Path, **more: str) -> str:
        return Template(path.read_text(encoding="utf-8")).substitute(values | more)

    lake_views = []
    for table in sorted(TABLES, key=lambda t: t.written_by != "run"):  # runs first: the others filter on it
        path = root / "lake" / ("history.sql" if table.written_by == "run" else "current.sql")
        lake_views.append(
            View(f"lake.{table.name}", template(path, table=table.name, columns=columns_of(table)), str(path))
        )
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


def columns_of(table: Table) -> str:
    """The table's declared columns, its key and the partition date first."""
    names = [table.key, "date", *(name for name, _, _ in table.all_columns if name != table.key)]
    return ", ".join(f'"{name}"' for name in names)


def create_views(con: duckdb.DuckDBPyConnection, views: list[View]) -> None:
    con.execute("create schema if not exists lake")
    for view in views:
        try:
            con.execute(f"create or replace view {view.name} as {view.select}")
        except duckdb.Error as error:
            raise UserError(f"view {view.name} ({view.source}): {str(error).splitlines()[0]}") from None


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
    return [view.name for view in views]


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

"""Every lake table is a Delta Lake table partitioned by date: LAKE/<table>/_delta_log/ says which Parquet
files hold its rows, so Spark, Trino, Polars, pandas and DuckDB's delta_scan read exactly the committed rows.

The files themselves are written by pyarrow (the shards, the commit), named by the run that wrote them:
LAKE/<table>/date=D/<run_id>-<shard>.parquet. Delta Lake only registers them: a commit replaces the date's
partition of each table (a Delta overwrite of that partition), and the runs table gets one more row. The
files a commit replaced stay on disk, reachable by time travel, until `news-etl maintain` vacuums them.

delta-rs is the only Delta writer here; it is imported by this module alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipeline.storage import Location, backend

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from pipeline.tables import Table

PARTITION = "date"


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of a table, as a Delta add action knows it. path: relative to the table's folder."""

    path: str
    size: int
    rows: int
    modified_ms: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @classmethod
    def of(cls, table_root: Location, path: Location, rows: int) -> DataFile:
        info = path.stat()
        relative = str(path)[len(str(table_root)) :].lstrip("/")
        return cls(relative, int(info.st_size), rows, int(info.st_mtime * 1000))


def table_root(lake: Location, table: Table) -> Location:
    return lake / table.name


def uri(lake: Location, table: Table) -> str:
    return str(table_root(lake, table))


def delta_schema(table: Table) -> Any:
    from deltalake import Schema

    return Schema.from_arrow(table.schema.append(pa.field(PARTITION, pa.date32())))


def open_table(lake: Location, table: Table, version: int | None = None) -> DeltaTable | None:
    """The table's Delta table, or None before its first commit."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(uri(lake, table), version=version, storage_options=backend(lake).delta_options())
    except TableNotFoundError:
        return None


def partitions(delta: DeltaTable | None) -> dict[str, list[DataFile]]:
    """The files of the table's version, by date (no data is read: the log alone)."""
    if delta is None:
        return {}
    actions = pa.table(delta.get_add_actions(flatten=True)).to_pydict()
    found: dict[str, list[DataFile]] = {}
    for path, size, rows, modified, day in zip(
        actions["path"],
        actions["size_bytes"],
        actions["num_records"],
        actions["modification_time"],
        actions[f"partition.{PARTITION}"],
        strict=True,
    ):
        modified_ms = int(modified.timestamp() * 1000) if hasattr(modified, "timestamp") else int(modified)
        found.setdefault(str(day), []).append(DataFile(path, size, rows or 0, modified_ms))
    return found


def add_actions(day: str, files: list[DataFile]) -> list[Any]:
    from deltalake.transaction import AddAction

    return [
        AddAction(f.path, f.size, {PARTITION: day}, f.modified_ms, True, json.dumps({"numRecords": f.rows}))
        for f in files
    ]


def register(
    lake: Location, table: Table, day: str, files: list[DataFile], replace: bool, snapshot: DeltaTable | None = None
) -> None:
    """One Delta commit: with replace, the date's partition of the table is exactly these files from now on
    (a partition overwrite); without, the files are added (the runs table: its history only grows).
    snapshot: the table as the caller just opened it (saves reading its log again); None opens it."""
    from deltalake.exceptions import DeltaError

    delta = snapshot or open_table(lake, table)
    if delta is None:
        try:
            create(lake, table, {day: files})
            return
        except DeltaError:  # another date's first commit created it meanwhile: commit into it
            delta = open_table(lake, table)
            if delta is None:
                raise
    delta.create_write_transaction(
        add_actions(day, files),
        mode="overwrite" if replace else "append",
        schema=delta_schema(table),
        partition_by=[PARTITION],
        partition_filters=[(PARTITION, "=", day)] if replace else None,
    )


def create(lake: Location, table: Table, files: dict[str, list[DataFile]]) -> None:
    """A new Delta table with these files of every date, in one commit; fails if the table exists."""
    from deltalake.transaction import create_table_with_add_actions

    create_table_with_add_actions(
        uri(lake, table),
        delta_schema(table),
        [action for day in sorted(files) for action in add_actions(day, files[day])],
        mode="error",
        partition_by=[PARTITION],
        storage_options=backend(lake).delta_options(),
    )


COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def latest_version(lake: Location, table: Table) -> int | None:
    """The table's newest commit, from one listing of its log (no log replay): what a cache of something
    derived from the table compares to know it is unchanged. None before the table's first commit."""
    log = table_root(lake, table) / "_delta_log"
    try:
        versions = [int(m[1]) for path in log.iterdir() if (m := COMMIT_FILE.match(path.name))]
    except FileNotFoundError:
        return None
    return max(versions, default=None)

"""The output edge: how a lake table is declared, and the Parquet writer for one shard.

A table is declared once, as a `Table`, next to the code that makes its rows (see pipeline/registry.py for
the list). Its columns carry their descriptions; every table also gets a `run_id` column, and its `date`
lives in the folder name (hive partitioning), not in the files:
LAKE/<table>/date=YYYY-MM-DD/<run_id>-<shard>.parquet. Which run's files count is decided by the runs
table (see lake.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.delta import DataFile
from pipeline.errors import WriteFailed
from pipeline.storage import Location, backend, publish, staged, writing

if TYPE_CHECKING:
    from pipeline.extract.part import Part

Row = dict[str, Any]
TIMESTAMP = pa.timestamp("us", tz="UTC")
RUN_ID = ("run_id", pa.string(), "the run that wrote the row (see runs)")
DOC_ID = ("doc_id", pa.string(), "the document (documents.doc_id)")  # the key of every per-document table


@dataclass(frozen=True)
class Table:
    """One lake table: what it holds, its columns (name, type, description), and who writes its rows.

    written_by: "shard" (a row set per document, written by the shards and carried over by incremental reruns),
    "commit" (computed by the commit from the whole partition), "run" (the runs table itself), "check" (the
    checks table: results of the data checks, appended by each check run after a commit; see checks.py).
    extract: for tables made from a document's spaCy Doc, the pure function that makes the rows of one Part.
    index: the column numbering a document's rows 0, 1, 2...; it continues across the parts of a huge text.
    key: the column that says which input a row belongs to (what the carry-over selects by).
    unique: more columns that, with key (and index), make a row's identity: a rollup's grain (rollups.py).
    Columns named *_char are character offsets into the document's text.
    """

    name: str
    description: str
    columns: tuple[tuple[str, pa.DataType, str], ...]
    written_by: Literal["shard", "commit", "run", "check"] = "shard"
    key: str = "doc_id"
    index: str | None = None
    unique: tuple[str, ...] = ()
    extract: Callable[[Part], list[Row]] | None = field(default=None, compare=False)

    @property
    def per_run(self) -> bool:
        """Its files are a run's (<run_id>-<shard>.parquet), and each commit replaces the date's partition with
        them. The others, runs and checks, are histories: each commit or check run only adds a file."""
        return self.written_by in ("shard", "commit")

    @property
    def all_columns(self) -> tuple[tuple[str, pa.DataType, str], ...]:
        return (*self.columns, RUN_ID) if self.per_run else self.columns

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(name, kind) for name, kind, _ in self.all_columns])

    @property
    def offset_columns(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.columns if name.endswith("_char"))


ROW_GROUP_ROWS = 100_000
# Documents carry their whole text: a row group is cut by size too, so memory stays flat whatever the articles.
ROW_GROUP_TEXT_CHARS = 32_000_000
# Page checksums (CRC32): a flipped bit or a torn write is found on read instead of returning wrong values.
WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True, "write_page_checksum": True}


def partition_dir(lake: Location, table: str, day: str) -> Location:
    return lake / table / f"date={day}"


def data_file(lake: Location, table: str, day: str, run_id: str, shard: int) -> Location:
    return partition_dir(lake, table, day) / f"{run_id}-{shard:05d}.parquet"


def arrow_target(path: Location) -> dict[str, Any]:
    """Keyword arguments naming a file to pyarrow: its path and, on a store, the fsspec filesystem."""
    return backend(path).arrow_target(path)


class DamagedFile(Exception):
    """A lake file that cannot be read whole: truncated, or a page whose checksum does not match."""

    def __init__(self, path: Location, error: Exception) -> None:
        super().__init__(f"{path}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        self.path = path


def read_parquet(path: Location, columns: list[str] | None = None, schema: pa.Schema | None = None) -> pa.Table:
    """A whole file, its page checksums verified; raises DamagedFile if it is not readable whole."""
    target = arrow_target(path)
    where = target.pop("where")
    try:
        return pq.read_table(where, columns=columns, schema=schema, page_checksum_verification=True, **target)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise DamagedFile(path, error) from None


def write_atomic(table: pa.Table, path: Location) -> None:
    """A reader or a crash never meets a half-written file (see storage.staged)."""
    with writing(path) as tmp:
        pq.write_table(table, **arrow_target(tmp), row_group_size=ROW_GROUP_ROWS, **WRITE_OPTIONS)


def write_rows(table: Table, rows: list[Row], path: Location, lake: Location) -> DataFile:
    """One whole file of rows of a table, atomically; returns it as a lake file."""
    return write_table(pa.Table.from_pylist(rows, schema=table.schema), table, path, lake)


def write_table(rows: pa.Table, table: Table, path: Location, lake: Location) -> DataFile:
    write_atomic(rows, path)
    return DataFile.of(lake / table.name, path, len(rows))


class ShardWriter:
    """Streams rows of every shard-written table into one Parquet file each, a row group at a time."""

    def __init__(self, lake: Location, day: str, run_id: str, shard: int, tables: tuple[Table, ...]) -> None:
        self.tables = {t.name: t for t in tables}
        self.targets = {t: data_file(lake, t, day, run_id, shard) for t in self.tables}
        self.staged = {t: staged(target) for t, target in self.targets.items()}
        self.buffers: dict[str, list[Row]] = {t: [] for t in self.tables}
        self.counts = dict.fromkeys(self.tables, 0)
        self.text_chars = 0
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.run_id = run_id
        self.lake = lake

    def add(self, table: str, rows: list[Row]) -> None:
        buffer = self.buffers[table]
        buffer.extend(rows)
        self.counts[table] += len(rows)
        if table == "documents":
            self.text_chars += sum(len(row["text"]) for row in rows)
        if len(buffer) >= ROW_GROUP_ROWS or self.text_chars >= ROW_GROUP_TEXT_CHARS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self.buffers[table]
        for row in rows:
            row["run_id"] = self.run_id
        schema = self.tables[table].schema
        batch = pa.Table.from_pylist(rows, schema=schema)
        try:
            if table not in self.writers:
                target = arrow_target(self.staged[table])
                self.writers[table] = pq.ParquetWriter(schema=schema, **target, **WRITE_OPTIONS)
            self.writers[table].write_table(batch, row_group_size=ROW_GROUP_ROWS)
        except OSError as error:
            raise WriteFailed(self.targets[table], error) from None
        self.buffers[table] = []
        if table == "documents":
            self.text_chars = 0

    def close(self) -> dict[str, DataFile]:
        """Flush, then move every file into place; returns each table's file. A table without rows in the shard
        gets a file too: every run has files in every table (see lake.current_files). Nothing reads a run's
        files before its commit anyway."""
        for table in self.tables:
            self._flush(table)  # also writes the schema for a table with no rows in this shard
            try:
                self.writers.pop(table).close()
            except OSError as error:
                raise WriteFailed(self.targets[table], error) from None
        for table, target in self.targets.items():
            publish(self.staged[table], target)
        return {
            table: DataFile.of(self.lake / table, target, self.counts[table]) for table, target in self.targets.items()
        }

    def abort(self) -> None:
        for writer in self.writers.values():
            with contextlib.suppress(OSError):  # the disk that failed the shard may fail the close too
                writer.close()
        for path in self.staged.values():
            path.unlink(missing_ok=True)


def run_files(lake: Location, table: Table, day: str, run_id: str) -> list[Location]:
    return sorted(partition_dir(lake, table.name, day).glob(f"{run_id}-*.parquet"), key=str)


def read_files(table: Table, paths: list[Location], columns: list[str] | None = None) -> pa.Table:
    """The rows of some of a table's files (all of one run's, of one date), in the table's schema."""
    parts = [read_parquet(path, columns=columns, schema=table.schema) for path in paths]
    return pa.concat_tables(parts) if parts else table.schema.empty_table().select(columns or table.schema.names)

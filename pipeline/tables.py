"""The output edge: one explicit pyarrow schema per table, and the Parquet writer for one shard.

Files live at LAKE/<table>/date=YYYY-MM-DD/<run_id>-<shard>.parquet. The date is in the folder name
(hive partitioning), not in the files. Which run's files count is decided by the runs table (see lake.py).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage import Location, backend, publish, staged

TIMESTAMP = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "documents": pa.schema(
        [
            ("doc_id", pa.string()),
            ("source_path", pa.string()),
            ("title", pa.string()),
            ("dateline", pa.string()),
            ("dateline_place", pa.string()),
            ("dateline_date", pa.string()),
            ("dateline_source", pa.string()),
            ("language", pa.string()),
            ("is_analysed", pa.bool_()),
            ("analysis_error", pa.string()),
            ("text", pa.large_string()),
            ("n_tokens", pa.int32()),
            ("n_chars", pa.int64()),
            ("n_bytes", pa.int64()),
            ("content_sha256", pa.string()),
            ("encoding", pa.string()),
            ("duplicate_of", pa.string()),
            ("model", pa.string()),
            ("pipeline_version", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
    "sentences": pa.schema(
        [
            ("doc_id", pa.string()),
            ("sentence_idx", pa.int32()),
            ("start_char", pa.int64()),
            ("end_char", pa.int64()),
            ("run_id", pa.string()),
        ]
    ),
    "entities": pa.schema(
        [
            ("doc_id", pa.string()),
            ("entity_idx", pa.int32()),
            ("start_char", pa.int64()),
            ("end_char", pa.int64()),
            ("text", pa.string()),
            ("label", pa.string()),
            ("model_label", pa.string()),
            ("canonical", pa.string()),
            ("canonical_key", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
    # MinHash signatures, one per document, for the commit's near-duplicate clustering (not a view).
    "signatures": pa.schema(
        [
            ("doc_id", pa.string()),
            ("minhash", pa.list_(pa.uint32())),
            ("run_id", pa.string()),
        ]
    ),
    # Written by the commit: the documents of the partition that have near-duplicates, grouped.
    "near_duplicates": pa.schema(
        [
            ("doc_id", pa.string()),
            ("cluster_id", pa.string()),
            ("similarity", pa.float32()),
            ("run_id", pa.string()),
        ]
    ),
    "quotes": pa.schema(
        [
            ("doc_id", pa.string()),
            ("quote_idx", pa.int32()),
            ("start_char", pa.int64()),
            ("end_char", pa.int64()),
            ("text", pa.string()),
            ("speaker", pa.string()),
            ("speaker_start_char", pa.int64()),
            ("speaker_end_char", pa.int64()),
            ("speaker_canonical", pa.string()),
            ("cue", pa.string()),
            ("confidence", pa.float32()),
            ("run_id", pa.string()),
        ]
    ),
    "rejects": pa.schema(
        [
            ("source_path", pa.string()),
            ("reason", pa.string()),
            ("n_bytes", pa.int64()),
            ("content_sha256", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
    "runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", TIMESTAMP),
            ("finished_at", TIMESTAMP),
            ("files_seen", pa.int64()),
            ("files_ignored", pa.int64()),
            ("documents", pa.int64()),
            ("duplicates", pa.int64()),
            ("rejects", pa.int64()),
            ("shards", pa.int32()),
            ("model", pa.string()),
            ("pipeline_version", pa.string()),
        ]
    ),
}
SHARD_TABLES = ("documents", "sentences", "entities", "quotes", "rejects", "signatures")
RUN_TABLES = (*SHARD_TABLES, "near_duplicates")  # every table whose files are named by run and shard
ROW_GROUP_ROWS = 100_000
# Documents carry their whole text: a row group is cut by size too, so memory stays flat whatever the articles.
ROW_GROUP_TEXT_CHARS = 32_000_000
WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def partition_dir(lake: Location, table: str, day: str) -> Location:
    return lake / table / f"date={day}"


def data_file(lake: Location, table: str, day: str, run_id: str, shard: int) -> Location:
    return partition_dir(lake, table, day) / f"{run_id}-{shard:05d}.parquet"


def arrow_target(path: Location) -> dict[str, Any]:
    """Keyword arguments naming a file to pyarrow: its path and, on a store, the fsspec filesystem."""
    return backend(path).arrow_target(path)


def read_parquet(path: Location, columns: list[str] | None = None, schema: pa.Schema | None = None) -> pa.Table:
    target = arrow_target(path)
    return pq.read_table(target.pop("where"), columns=columns, schema=schema, **target)


def write_atomic(table: pa.Table, path: Location) -> None:
    """A reader or a crash never meets a half-written file (see storage.staged)."""
    tmp = staged(path)
    pq.write_table(table, **arrow_target(tmp), row_group_size=ROW_GROUP_ROWS, **WRITE_OPTIONS)
    publish(tmp, path)


class ShardWriter:
    """Streams rows of every shard table into one Parquet file each, a row group at a time."""

    def __init__(self, lake: Location, day: str, run_id: str, shard: int) -> None:
        self.targets = {t: data_file(lake, t, day, run_id, shard) for t in SHARD_TABLES}
        self.staged = {t: staged(target) for t, target in self.targets.items()}
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in SHARD_TABLES}
        self.text_chars = 0
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.run_id = run_id

    def add(self, table: str, rows: list[dict[str, Any]]) -> None:
        buffer = self.buffers[table]
        buffer.extend(rows)
        if table == "documents":
            self.text_chars += sum(len(row["text"]) for row in rows)
        if len(buffer) >= ROW_GROUP_ROWS or self.text_chars >= ROW_GROUP_TEXT_CHARS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self.buffers[table]
        for row in rows:
            row["run_id"] = self.run_id
        batch = pa.Table.from_pylist(rows, schema=SCHEMAS[table])
        if table not in self.writers:
            self.writers[table] = pq.ParquetWriter(
                schema=SCHEMAS[table], **arrow_target(self.staged[table]), **WRITE_OPTIONS
            )
        self.writers[table].write_table(batch, row_group_size=ROW_GROUP_ROWS)
        self.buffers[table] = []
        if table == "documents":
            self.text_chars = 0

    def close(self) -> None:
        """Flush, then move every file into place. Nothing reads a run's files before its commit anyway."""
        for table in SHARD_TABLES:
            self._flush(table)  # also writes the schema for a table with no rows in this shard
            self.writers.pop(table).close()
        for table, target in self.targets.items():
            publish(self.staged[table], target)

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.close()
        for path in self.staged.values():
            path.unlink(missing_ok=True)


def read_run_table(lake: Location, table: str, day: str, run_id: str, columns: list[str] | None = None) -> pa.Table:
    """All of one run's rows of a table for a date (every shard file), in the table's schema."""
    files = sorted(partition_dir(lake, table, day).glob(f"{run_id}-*.parquet"), key=str)
    parts = [read_parquet(f, columns=columns, schema=SCHEMAS[table]) for f in files]
    return pa.concat_tables(parts) if parts else SCHEMAS[table].empty_table().select(columns or SCHEMAS[table].names)

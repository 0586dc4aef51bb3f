"""Rollups: per-date aggregates of the entities, computed by the commit from the whole date like the
near-duplicate clusters, so that the entity marts sum a few rows per key and date instead of aggregating every
mention (a year of 20 million mentions took 6 s, the co-occurrence self-join 22 s: docs/benchmarks.md).

Each rollup is an ordinary per-run table (written_by="commit"), in the date's partition, published by the same
commit as the rows it sums; its SQL is sql/rollups/<table>.sql, run by DuckDB over the run's entities. A lake
committed before the rollups existed gets them from the next run of each date, from `news-etl maintain` (fill)
or, for a lake of release 0.1, from `news-etl migrate`.
"""

from __future__ import annotations

from string import Template

import duckdb
import pyarrow as pa

from pipeline import delta
from pipeline.delta import DataFile
from pipeline.extract.entities import ENTITIES
from pipeline.lake import commit_lock, current_files, lake_paths, runs_row_path
from pipeline.storage import Location
from pipeline.tables import Table, data_file, read_files, read_parquet, write_table

ENTITY_COLUMNS = ["doc_id", "canonical_key", "canonical", "label"]  # what the rollups read of the entities

ENTITY_MENTIONS = Table(
    "entity_mentions",
    "Per date, named-entity mentions by canonical_key, spelling and label: what entity_mentions_daily sums.",
    (
        ("canonical_key", pa.string(), "the entity (entities.canonical_key)"),
        ("canonical", pa.string(), "one of its spellings that date (entities.canonical)"),
        ("label", pa.string(), "one of its labels that date (a name label: PERSON, ORG, GPE...)"),
        ("mentions", pa.int64(), "mentions of the key with this spelling and this label that date"),
        ("canonical_mentions", pa.int64(), "mentions of the key with this spelling, any label, that date"),
        ("label_mentions", pa.int64(), "mentions of the key with this label, any spelling, that date"),
        ("key_documents", pa.int64(), "documents of the date that name the key (the same on each of its rows)"),
    ),
    written_by="commit",
    key="canonical_key",
    unique=("canonical", "label"),
)
ENTITY_PAIRS = Table(
    "entity_pairs",
    "Per date, pairs of named entities (by canonical_key) named in the same documents: what entity_cooccurrence sums.",
    (
        ("key_a", pa.string(), "the pair's first canonical_key (key_a < key_b)"),
        ("key_b", pa.string(), "the pair's second canonical_key"),
        ("entity_a", pa.string(), "key_a's most frequent spelling that date"),
        ("entity_b", pa.string(), "key_b's most frequent spelling that date"),
        ("documents", pa.int64(), "documents of the date that name both"),
        ("example_doc_id", pa.string(), "the smallest doc_id among them"),
    ),
    written_by="commit",
    key="key_a",
    unique=("key_b",),
)
ROLLUPS = (ENTITY_MENTIONS, ENTITY_PAIRS)


def write_rollups(
    lake: Location, tables: list[Table], day: str, run_id: str, shard: int, entity_files: list[Location]
) -> dict[str, DataFile]:
    """The given rollups of a run's entities (all its files of the date, read once), by table name, each
    written as the run's file number `shard`."""
    if not tables:
        return {}
    entities = read_files(ENTITIES, entity_files, columns=ENTITY_COLUMNS)  # pyarrow: any storage backend
    return {table.name: rollup(lake, table, day, run_id, shard, entities) for table in tables}


def rollup(lake: Location, table: Table, day: str, run_id: str, shard: int, entities: pa.Table) -> DataFile:
    from pipeline.views import name_labels, sql_dir  # views reads the registry, which lists this module's tables

    sql = (sql_dir() / "rollups" / f"{table.name}.sql").read_text(encoding="utf-8")
    with duckdb.connect() as con:
        con.register("entities", entities)
        rows = con.execute(Template(sql).substitute(name_labels=name_labels())).to_arrow_table()
    rows = rows.append_column("run_id", pa.array([run_id] * len(rows), pa.string())).select(table.schema.names)
    return write_table(rows.cast(table.schema), table, data_file(lake, table.name, day, run_id, shard), lake)


def missing_dates(lake: Location, runs: dict[str, str]) -> list[str]:
    """Committed dates (runs: as lake.current_runs) with no file in some rollup table: committed before it existed."""
    found = [delta.partitions(delta.open_table(lake, t)) for t in ROLLUPS]  # each table's log read once
    return sorted({day for partitions in found for day in runs if day not in partitions})


def fill(lake: Location, day: str, run_id: str) -> list[str]:
    """Under the date's lock: the rollups its current run lacks, from its entities, each registered in its Delta
    table (named by the current run, so the views take them for its own). Returns the tables written."""
    entities = lake_paths(lake, ENTITIES, current_files(lake, ENTITIES, {day: run_id})[day])
    missing = [t for t in ROLLUPS if day not in delta.partitions(delta.open_table(lake, t))]
    written = write_rollups(lake, missing, day, run_id, run_shards(lake, day, run_id), entities)
    for table in missing:
        with commit_lock(lake):
            delta.register(lake, table, day, [written[table.name]], replace=True)
    return list(written)


def run_shards(lake: Location, day: str, run_id: str) -> int:
    """The number the run's own commit gives its rollup files: one past its last shard."""
    return read_parquet(runs_row_path(lake, day, run_id), columns=["shards"])["shards"][0].as_py()

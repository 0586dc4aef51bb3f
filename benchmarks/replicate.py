"""A committed date of the lake copied under more dates, the way commits publish them (for the view benchmarks).

Each copy is a run of its own: every table's current files of the source date rewritten under the new date with
the new run's id in every row and fresh doc_ids (so joins on doc_id do not meet the other copies' rows), a runs
row listing them, and the files registered in every table's Delta log. All copies go into one Delta commit
per table (an append: the new dates had no files), not one per date as real commits do, so a year of dates
takes minutes; the lake is then what a year of commits leaves (`news-etl views`, `verify` and `check` read it).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import delta
from pipeline.delta import DataFile
from pipeline.lake import RUNS, current_files, current_runs, lake_paths, new_run_id
from pipeline.registry import run_tables
from pipeline.storage import Location
from pipeline.tables import Table, data_file, partition_dir, read_files, read_parquet, write_rows, write_table

DOC_ID_COLUMNS = ("doc_id", "duplicate_of", "cluster_id", "example_doc_id")  # every column holding a doc_id


def new_ids(ids: list[str], copy: int) -> pa.Array:
    """Stable fresh doc_ids for one copy, of the doc_id's shape (16 hex digits)."""
    return pa.array([hashlib.blake2b(f"{i}/{copy}".encode(), digest_size=8).hexdigest() for i in ids], pa.string())


def renamed(rows: pa.Table, originals: pa.Array, replacement: pa.Array, run_id: str) -> pa.Table:
    for name in DOC_ID_COLUMNS:
        if name in rows.column_names:
            column = rows[name]
            index = pc.index_in(column, value_set=originals)
            rows = rows.set_column(
                rows.schema.get_field_index(name),
                name,
                pc.if_else(pc.is_null(column), column, pc.take(replacement, index)),
            )
    return rows.set_column(rows.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * len(rows), pa.string()))


def replicate(lake: Location, source: str, days: list[date]) -> None:
    """Copy the current run of the date `source` under each of `days` (dates with no run yet)."""
    run_id = current_runs(lake)[source]
    tables = run_tables()
    rows = {t: read_files(t, lake_paths(lake, t, current_files(lake, t, {source: run_id})[source])) for t in tables}
    documents = next(r for t, r in rows.items() if t.name == "documents")
    originals = pa.array(sorted(set(documents["doc_id"].to_pylist())), pa.string())
    run_row = read_parquet(partition_dir(lake, RUNS.name, source) / f"{run_id}.parquet").to_pylist()[0]
    added: dict[str, dict[str, list[DataFile]]] = {t.name: {} for t in (*tables, RUNS)}
    start = datetime.now(UTC)
    for k, day in enumerate(days, 1):
        copy_id = new_run_id(start + timedelta(microseconds=k))
        replacement = new_ids(originals.to_pylist(), k)
        files = []
        for table, table_rows in rows.items():
            path = data_file(lake, table.name, day.isoformat(), copy_id, 0)
            written = write_table(renamed(table_rows, originals, replacement, copy_id), table, path, lake)
            added[table.name][day.isoformat()] = [written]
            files.append(f"{table.name}/{written.path}")
        row = run_row | {"run_id": copy_id, "shards": 1, "files": files}
        path = partition_dir(lake, RUNS.name, day.isoformat()) / f"{copy_id}.parquet"
        added[RUNS.name][day.isoformat()] = [write_rows(RUNS, [row], path, lake)]
    for table in (*tables, RUNS):  # the runs table last: as in a commit, a date counts once its runs row is in
        append(lake, table, added[table.name])


def append(lake: Location, table: Table, files: dict[str, list[DataFile]]) -> None:
    """One Delta commit adding these files of dates the table does not hold yet."""
    actions = [action for day in sorted(files) for action in delta.add_actions(day, files[day])]
    delta.open_table(lake, table).create_write_transaction(
        actions, mode="append", schema=delta.delta_schema(table), partition_by=[delta.PARTITION]
    )

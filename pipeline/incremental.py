"""Work already done is not done again: a rerun takes over, from the date's current run, the rows of every
file whose bytes, duplicate status, model and extractor version are unchanged, and analyses only the rest.

The taken-over rows are copied (with the new run id) into one extra "carry" shard of the new run, so a run
is always complete on its own and the commit and the views need not know which rows were reused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.delta import DataFile
from pipeline.documents import REJECTS, SourceFile
from pipeline.extract.document import DOCUMENTS
from pipeline.lake import RUNS, current_files, current_runs, lake_paths
from pipeline.registry import shard_tables
from pipeline.storage import Location
from pipeline.tables import Table, data_file, partition_dir, read_files, read_parquet, write_table
from pipeline.verify import damaged_files, quarantine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Previous:
    """What the date's current run produced, as far as reuse needs to know."""

    run_id: str
    documents: dict[str, tuple[str, str | None]]  # doc_id -> (content_sha256, duplicate_of)
    rejects: dict[str, str]  # source_path -> content_sha256
    files: dict[Table, list[Location]]  # its files


def previous_run(lake: Location, day: str, model: str, pipeline_version: str) -> Previous | None:
    """The current run of the date if it was made by the same model and extractor version."""
    runs = current_runs(lake)
    if day not in runs:
        return None
    run_id = runs[day]
    run = read_parquet(partition_dir(lake, RUNS.name, day) / f"{run_id}.parquet").to_pylist()[0]
    if (run["model"], run["pipeline_version"]) != (model, pipeline_version):
        return None
    files = {t: lake_paths(lake, t, current_files(lake, t, {day: run_id})[day]) for t in shard_tables()}
    damaged = [item for table, paths in files.items() for item in damaged_files(table, paths)]
    if damaged:  # its rows cannot all be read back: analyse every file again, and keep the views readable
        for item in damaged:
            quarantine(lake, item)
        log.warning("run %s has %d damaged files: every file of %s is analysed again", run_id, len(damaged), day)
        return None
    documents = read_files(DOCUMENTS, files[DOCUMENTS], ["doc_id", "content_sha256", "duplicate_of"])
    rejects = read_files(REJECTS, files[REJECTS], ["source_path", "content_sha256"])
    return Previous(
        run_id,
        {r["doc_id"]: (r["content_sha256"], r["duplicate_of"]) for r in documents.to_pylist()},
        {r["source_path"]: r["content_sha256"] for r in rejects.to_pylist() if r["content_sha256"]},
        files,
    )


def split_reusable(files: list[SourceFile], previous: Previous | None) -> tuple[list[SourceFile], set[str], set[str]]:
    """(files to analyse, doc_ids to carry over, reject paths to carry over)."""
    if previous is None:
        return files, set(), set()
    fresh, doc_ids, reject_paths = [], set(), set()
    for source in files:
        if source.reject_reason is None and previous.documents.get(source.doc_id) == (
            source.sha256,
            source.duplicate_of,
        ):
            doc_ids.add(source.doc_id)
        elif (
            source.reject_reason is None and source.sha256 and previous.rejects.get(source.source_path) == source.sha256
        ):
            reject_paths.add(source.source_path)
        else:
            fresh.append(source)
    return fresh, doc_ids, reject_paths


def carry_over(
    lake: Location, day: str, previous: Previous, run_id: str, shard: int, doc_ids: set[str], reject_paths: set[str]
) -> tuple[dict[str, list[DataFile]], int]:
    """Copy the reused rows of every shard-written table into the new run's carry shard, selected by the
    table's key (a document's rows by doc_id, a reject by its path). Returns its files and the duplicates."""
    wanted = {"doc_id": doc_ids, "source_path": reject_paths}
    files, duplicates = {}, 0
    for table in shard_tables():
        rows = read_files(table, previous.files[table])
        rows = rows.filter(pc.is_in(rows[table.key], value_set=pa.array(sorted(wanted[table.key]), pa.string())))
        rows = rows.set_column(
            rows.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * len(rows), pa.string())
        )
        files[table.name] = [write_table(rows, table, data_file(lake, table.name, day, run_id, shard), lake)]
        if table is DOCUMENTS:
            duplicates = len(rows) - rows["duplicate_of"].null_count
    return files, duplicates

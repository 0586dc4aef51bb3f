"""Work already done is not done again: a rerun takes over, from the date's current run, the rows of every
file whose bytes, duplicate status, model and extractor version are unchanged, and analyses only the rest.

The taken-over rows go into one extra "carry" shard of the new run, so the commit and the views need not know
which rows were reused. A file of the current run whose rows are all taken over is not copied: the carry shard
lists it as it is (the new run's commit references it, as Delta allows; its rows keep the run_id of the run
that wrote them), so an unchanged date is rerun without rewriting anything. Only a file holding some rows of
changed input is read again and its kept rows copied, with the new run id. When the whole current run is taken
over, its near-duplicate clusters and rollups are too (the commit's tables: they depend on nothing else).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.delta import DataFile
from pipeline.documents import REJECTS, SourceFile
from pipeline.extract.document import DOCUMENTS
from pipeline.lake import current_files, current_runs, lake_paths, runs_row_path
from pipeline.registry import commit_tables, shard_tables
from pipeline.storage import Location
from pipeline.tables import DamagedFile, Table, data_file, read_files, read_parquet, write_table
from pipeline.verify import quarantine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviousFile:
    """One file of the current run: where it is, as its table's Delta log knows it, and whose rows it holds."""

    path: Location
    file: DataFile
    keys: frozenset[str]  # the values of its table's key column (doc_ids, or reject paths)


@dataclass(frozen=True)
class Previous:
    """What the date's current run produced, as far as reuse needs to know."""

    run_id: str
    documents: dict[str, tuple[str, str | None]]  # doc_id -> (content_sha256, duplicate_of)
    rejects: dict[str, str]  # source_path -> content_sha256
    files: dict[Table, list[PreviousFile]]  # its files of every shard-written and commit-computed table


def previous_run(lake: Location, day: str, model: str, pipeline_version: str) -> Previous | None:
    """The current run of the date if it was made by the same model and extractor version. Each of its files
    is read once, whole (a damaged one means nothing is reused); what reuse needs of it is kept."""
    runs = current_runs(lake)
    if day not in runs:
        return None
    run_id = runs[day]
    run = read_parquet(runs_row_path(lake, day, run_id)).to_pylist()[0]
    if (run["model"], run["pipeline_version"]) != (model, pipeline_version):
        return None
    files: dict[Table, list[PreviousFile]] = {}
    damaged, documents, rejects = [], [], []
    for table in (*shard_tables(), *commit_tables()):
        files[table] = []
        for path in lake_paths(lake, table, current_files(lake, table, {day: run_id})[day]):
            try:
                rows = read_parquet(path, schema=table.schema)
            except DamagedFile as error:
                damaged.append(error)
                continue
            keys = frozenset(pc.unique(rows[table.key]).to_pylist())
            files[table].append(PreviousFile(path, DataFile.of(lake / table.name, path, len(rows)), keys))
            if table is DOCUMENTS:
                documents.append(rows.select(["doc_id", "content_sha256", "duplicate_of"]))
            elif table is REJECTS:
                rejects.append(rows.select(["source_path", "content_sha256"]))
    if damaged:  # its rows cannot all be read back: analyse every file again, and keep the views readable
        for item in damaged:
            quarantine(lake, item)
        log.warning("run %s has %d damaged files: every file of %s is analysed again", run_id, len(damaged), day)
        return None
    return Previous(
        run_id,
        {r["doc_id"]: (r["content_sha256"], r["duplicate_of"]) for t in documents for r in t.to_pylist()},
        {r["source_path"]: r["content_sha256"] for t in rejects for r in t.to_pylist() if r["content_sha256"]},
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
    lake: Location,
    day: str,
    previous: Previous,
    run_id: str,
    shard: int,
    doc_ids: set[str],
    reject_paths: set[str],
    nothing_fresh: bool = False,
) -> tuple[dict[str, list[DataFile]], int]:
    """The reused rows of every shard-written table, selected by the table's key (a document's rows by doc_id,
    a reject by its path), as the new run's carry shard: the previous files whose rows are all reused, as they
    are, and one new file of the kept rows of the others. With everything reused, the commit's tables
    (near-duplicate clusters, rollups) too (nothing_fresh: no file of the new run is analysed). Returns its files
    by table, and the duplicates among its documents."""
    wanted = {"doc_id": doc_ids, "source_path": reject_paths}
    files: dict[str, list[DataFile]] = {}
    duplicates = 0
    for table in shard_tables():
        whole = [f for f in previous.files[table] if f.keys <= wanted[table.key]]
        partial = [f for f in previous.files[table] if not f.keys <= wanted[table.key]]
        files[table.name] = [f.file for f in whole]
        if partial or not whole:  # every run has a file in every table (see lake.current_files)
            rows = read_files(table, [f.path for f in partial])
            rows = rows.filter(pc.is_in(rows[table.key], value_set=pa.array(sorted(wanted[table.key]), pa.string())))
            rows = rows.set_column(
                rows.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * len(rows), pa.string())
            )
            files[table.name].append(write_table(rows, table, data_file(lake, table.name, day, run_id, shard), lake))
        if table is DOCUMENTS:
            duplicates = sum(1 for d in doc_ids if previous.documents[d][1] is not None)
    everything = doc_ids == set(previous.documents) and reject_paths == set(previous.rejects)
    for table in commit_tables() if nothing_fresh and everything else ():
        if previous.files[table]:  # a run from before the table existed has none: the commit computes it
            files[table.name] = [f.file for f in previous.files[table]]
    written = sum(f.name.startswith(run_id) for table_files in files.values() for f in table_files)
    referenced = sum(len(table_files) for table_files in files.values()) - written
    log.info("carried over from run %s: %d files referenced, %d rewritten", previous.run_id, referenced, written)
    return files, duplicates

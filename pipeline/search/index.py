"""The search index on local disk, kept in step with the lake's current runs.

The index folder (Settings.search_index, beside the DuckDB file) holds tantivy's files and news-etl.json: the
index format, the lake it indexes, and for every date the run it indexed and that run's document count.
Bringing it up to date compares that record with lake.current_runs (one read of the runs table's Delta
log): each date whose current run differs has its documents deleted and the current run's added, so the
cost follows the changed dates' documents, never the corpus. A date's documents change in one tantivy
commit, and the record is written after it: a crash in between leaves a record older than the index, and
the next update does that date again. Exact duplicates are not indexed: their first copy is, with the same
text, so they would only repeat it in results and double it in counts.

Updates take an exclusive lock on the folder (fcntl: the index is on a local disk), searches a shared one,
so a search never sees a half-made update.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import tantivy

from pipeline import delta
from pipeline.errors import UserError
from pipeline.extract.document import DOCUMENTS
from pipeline.extract.entities import ENTITIES
from pipeline.extract.quotes import QUOTES
from pipeline.lake import RUNS, current_files, current_runs, lake_paths
from pipeline.search.schema import ANALYSERS, FORMAT, SCHEMA, day_number, index_document
from pipeline.storage import Location
from pipeline.tables import read_files

log = logging.getLogger(__name__)
STATE_FILE = "news-etl.json"
LOCK_FILE = "news-etl.lock"
WRITER_HEAP_BYTES = 256 * 2**20
BATCH_DOCUMENTS = 200_000  # a rebuild commits (and records) after about this many documents: a crash loses less
BATCH_DATES = 16  # dates read from the lake at once: one Delta log read per table for each batch
# What the index reads of each table.
READS = (
    (DOCUMENTS, ["doc_id", "title", "text", "language", "duplicate_of"]),
    (ENTITIES, ["doc_id", "canonical_key"]),
    (QUOTES, ["doc_id", "speaker", "speaker_canonical"]),
)


@dataclass(frozen=True)
class State:
    """What the index holds: for every date, the run it indexed and its documents (duplicates excluded)."""

    lake: str
    dates: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: int = FORMAT
    runs_version: int | None = None  # the runs table's Delta version the dates were read at

    def current(self, lake: str, runs_version: int | None) -> bool:
        """True when nothing was committed since: the runs table is still at the version recorded (one
        listing of its log tells; reading the runs themselves means replaying the log, a year of commits)."""
        return self.format == FORMAT and self.lake == lake and self.runs_version == runs_version

    def runs(self) -> dict[str, str]:
        return {day: entry["run_id"] for day, entry in self.dates.items()}

    def documents(self) -> dict[str, int]:
        return {day: entry["documents"] for day, entry in self.dates.items()}


@dataclass(frozen=True)
class Plan:
    """What an update does: start afresh (and why), the dates to index again, the dates to drop."""

    rebuild: str | None
    changed: list[str]
    removed: list[str]

    @property
    def empty(self) -> bool:
        return self.rebuild is None and not self.changed and not self.removed


def plan_update(state: State | None, lake: str, runs: dict[str, str], rebuild: bool = False) -> Plan:
    """Pure: from the record of the index and the lake's current runs, what to do."""
    reason = (
        "asked to"
        if rebuild
        else "there is none yet"
        if state is None
        else f"it has format {state.format}, this version writes {FORMAT}"
        if state.format != FORMAT
        else f"it indexes another lake ({state.lake})"
        if state.lake != lake
        else None
    )
    indexed = {} if reason or state is None else state.runs()
    changed = sorted(day for day, run_id in runs.items() if indexed.get(day) != run_id)
    removed = sorted(day for day in indexed if day not in runs)
    return Plan(reason, changed, removed)


def read_state(folder: Path) -> State | None:
    try:
        raw = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        return State(raw["lake"], raw["dates"], raw["format"], raw.get("runs_version"))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # a damaged record: the index is rebuilt
        return State("", {}, -1)


def write_state(folder: Path, state: State) -> None:
    tmp = folder / f".{STATE_FILE}.tmp"
    record = {"format": state.format, "lake": state.lake, "runs_version": state.runs_version, "dates": state.dates}
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, folder / STATE_FILE)


@contextlib.contextmanager
def locked(folder: Path, exclusive: bool) -> Iterator[None]:
    """A lock on the index folder: exclusive to update it, shared to search it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # a reader of an index it may not write
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_OPEN: dict[Path, tuple[tuple[int, int], tantivy.Index]] = {}


def searcher(folder: Path) -> tantivy.Searcher:
    """A searcher of the index, kept open in the process while its record is unchanged (a notebook asking
    again pays no opening), opened again after any update."""
    info = (folder / STATE_FILE).stat()
    key = (info.st_ino, info.st_mtime_ns)
    cached = _OPEN.get(folder)
    if cached is None or cached[0] != key:
        cached = _OPEN[folder] = (key, open_index(folder))
    return cached[1].searcher()


def open_index(folder: Path, create: bool = False) -> tantivy.Index:
    index = tantivy.Index(SCHEMA, path=str(folder), reuse=True) if create else tantivy.Index.open(str(folder))
    for name, analyser in ANALYSERS.items():
        index.register_tokenizer(name, analyser)
    return index


def reset(folder: Path) -> None:
    """Empty the folder but for its lock: the record first, so a crash half way leaves no index at all."""
    (folder / STATE_FILE).unlink(missing_ok=True)
    for path in folder.iterdir():
        if path.name != LOCK_FILE:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


@dataclass(frozen=True)
class Report:
    rebuilt: str | None  # why the index was made afresh, if it was
    dates: list[str]  # dates indexed again
    removed: list[str]
    documents: int  # documents added


def update(folder: Path, lake: Location, rebuild: bool = False, threads: int | None = None) -> Report:
    """Bring the index at folder up to date with the lake's current runs (or rebuild it whole)."""
    try:
        with locked(folder, exclusive=True):
            version = delta.latest_version(lake, RUNS)  # before the runs: a commit in between is seen next time
            runs = current_runs(lake)
            state = read_state(folder)
            plan = plan_update(state, str(lake), runs, rebuild)
            if plan.empty:
                assert state is not None
                if state.runs_version != version:
                    write_state(folder, dataclasses.replace(state, runs_version=version))
                return Report(None, [], [], 0)
            if plan.rebuild:
                log.info("search index %s: building it afresh (%s)", folder, plan.rebuild)
                reset(folder)
                state = None
            return apply(folder, lake, runs, plan, state or State(str(lake)), threads, version)
    except OSError as error:
        raise UserError(f"cannot update the search index {folder}: {error.strerror or error}") from None


def apply(
    folder: Path,
    lake: Location,
    runs: dict[str, str],
    plan: Plan,
    state: State,
    threads: int | None,
    version: int | None,
) -> Report:
    index = open_index(folder, create=True)
    dates = dict(state.dates)
    threads = threads or min(2, os.cpu_count() or 1)
    writer = index.writer(WRITER_HEAP_BYTES, threads)
    for day in plan.removed:
        writer.delete_documents_by_query(day_query(day))
        dates.pop(day)
    added = pending = 0
    for batch in batches(plan.changed, lake, runs, dates):
        for day, (files, docs) in batch.items():
            if docs is None:  # a rerun that referenced the same files (pipeline/incremental.py): same documents
                dates[day] = dates[day] | {"run_id": runs[day]}
                continue
            writer.delete_documents_by_query(day_query(day))
            for doc in docs:
                writer.add_document(doc)
            dates[day] = {"run_id": runs[day], "documents": len(docs), "files": files}
            added += len(docs)
            pending += len(docs)
        if pending >= BATCH_DOCUMENTS:
            commit(folder, writer, State(str(lake), dict(dates), runs_version=state.runs_version))
            writer, pending = index.writer(WRITER_HEAP_BYTES, threads), 0
    commit(folder, writer, State(str(lake), dates, runs_version=version))
    log.info(
        "search index %s: %d dates indexed (%d documents), %d removed",
        folder,
        len(plan.changed),
        added,
        len(plan.removed),
    )
    return Report(plan.rebuild, plan.changed, plan.removed, added)


def commit(folder: Path, writer: tantivy.IndexWriter, state: State) -> None:
    writer.commit()
    writer.wait_merging_threads()
    write_state(folder, state)


def day_query(day: str) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, "day", day_number(day))


def batches(
    days: list[str], lake: Location, runs: dict[str, str], indexed: dict[str, dict[str, Any]]
) -> Iterator[dict[str, tuple[list[str], list[tantivy.Document] | None]]]:
    """The index documents of each date's current run, a few dates at a time, with the files they come from;
    None for the documents of a date whose files are those it was indexed from (the rows are the same)."""
    for start in range(0, len(days), BATCH_DATES):
        some = {day: runs[day] for day in days[start : start + BATCH_DATES]}
        files = [(table, columns, current_files(lake, table, some)) for table, columns in READS]
        batch: dict[str, tuple[list[str], list[tantivy.Document] | None]] = {}
        for day in some:
            names = sorted(f"{table.name}/{f.path}" for table, _, found in files for f in found[day])
            if indexed.get(day, {}).get("files") == names:
                batch[day] = (names, None)
                continue
            tables = (read_files(t, lake_paths(lake, t, found[day]), columns) for t, columns, found in files)
            batch[day] = (names, date_documents(*tables, day_number(day)))
        yield batch


def date_documents(documents: pa.Table, entities: pa.Table, quotes: pa.Table, day: int) -> list[tantivy.Document]:
    """One date's rows as index documents: its documents but exact duplicates, with their entity keys and
    speakers (speaker_canonical, else the speaker as written)."""
    documents = documents.filter(pc.is_null(documents["duplicate_of"]))
    keys = by_document(entities, entities["canonical_key"])
    speakers = by_document(quotes, pc.coalesce(quotes["speaker_canonical"], quotes["speaker"]))
    return [
        index_document(row, day, keys.get(row["doc_id"]), speakers.get(row["doc_id"]))
        for row in documents.select(["doc_id", "title", "text", "language"]).to_pylist()
    ]


def by_document(rows: pa.Table, values: pa.ChunkedArray) -> dict[str, list[str]]:
    """Each document's distinct non-null values."""
    pairs = pa.table({"doc_id": rows["doc_id"], "value": values}).filter(pc.is_valid(values))
    grouped = pairs.group_by("doc_id").aggregate([("value", "distinct")])
    return dict(zip(grouped["doc_id"].to_pylist(), grouped["value_distinct"].to_pylist(), strict=True))

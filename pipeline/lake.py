"""The lake's bookkeeping: run plans, shard receipts, the commit of a date's partition, repair, clean-up.

Every table is a Delta Lake table (delta.py). A run writes its own files (named by run id) next to the
older ones; nothing reads them until its commit, which goes in three steps:
1. the commit intent (LAKE/_runs/<run_id>/commit.json: every file of the run, by table), the runs row, then
   the intent again, naming the runs row (a runs row never stands without its intent: migrate.old_run_rows);
2. one Delta commit per table that replaces the date's partition with the run's files;
3. one Delta commit that adds the runs row: from then on the run is the date's current one.
Delta readers see each table switch at step 2; our views switch every table at once at step 3, since they
read the files of each date's current run (current_files). A crash after step 1 is rolled forward by the
next run of the date or by `news-etl repair` (apply); before it, the run left files that no table lists,
which clean-up removes (repair drops an intent that does not name its runs row yet, and that row).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline import delta, locks
from pipeline.delta import DataFile
from pipeline.documents import SourceFile
from pipeline.errors import DateBusy, UserError
from pipeline.storage import Location, backend, remove_tree, write_bytes
from pipeline.tables import TIMESTAMP, Table, partition_dir, read_files, read_parquet, run_files, write_rows

log = logging.getLogger(__name__)

RUNS_DIR = "_runs"  # plans and shard receipts: underscore folders are not tables
COMMIT_FILE = "commit.json"  # a run's commit intent, in its _runs folder until applied
COMMIT_WAIT_SECONDS = 300  # a commit takes seconds: waiting longer for the commit lock means its holder died
STALE_SECONDS = 24 * 3600  # files of a run that never committed are garbage after this
RUN_ID = re.compile(r"^r\d{8}T\d{12}-[0-9a-f]{6}$")
# A run's data file (with its shard number) or runs row (without), or one staged for either.
RUN_FILE = re.compile(r"^\.?(?P<run_id>r\d{8}T\d{12}-[0-9a-f]{6})(-\d{5})?\.parquet(\.tmp)?$")
# A file `news-etl maintain` made of a committed run's files of one date (maintain.py): still named by the run,
# and by a digest of the files it replaced, so a compaction done again writes the same name.
COMPACTED_FILE = re.compile(r"^\.?(?P<run_id>r\d{8}T\d{12}-[0-9a-f]{6})-compacted-[0-9a-f]{8}\.parquet(\.tmp)?$")

RUNS = Table(
    "runs",
    "Every committed run, current or superseded: the job's history. A run's files count once its row is here.",
    (
        ("run_id", pa.string(), "r<start time>-<random>: sorts by start"),
        ("started_at", TIMESTAMP, "when its plan was made"),
        ("finished_at", TIMESTAMP, "when it was committed"),
        ("files_seen", pa.int64(), "files under the date's landing folder, less ignored ones"),
        ("files_ignored", pa.int64(), "hidden files and partial uploads, skipped"),
        ("documents", pa.int64(), "files that became documents"),
        ("duplicates", pa.int64(), "of which exact duplicates"),
        ("rejects", pa.int64(), "files that became rejects"),
        ("shards", pa.int32(), "shards it was processed in (the carry-over shard included)"),
        ("model", pa.string(), "the spaCy model"),
        ("pipeline_version", pa.string(), "news-etl's version + a digest of the extraction code"),
        ("files", pa.list_(pa.string()), "its data files, table/date=D/name, as committed"),
    ),
    written_by="run",
    key="run_id",
)


def new_run_id(now: datetime | None = None) -> str:
    """Sorts by start time: r20261125T020000123456-1a2b3c."""
    now = now or datetime.now(UTC)
    return f"r{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"


def run_started(run_id: str) -> datetime:
    return datetime.strptime(run_id[1:22], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)


def check_writable(lake: Location) -> None:
    """Fail before any work is done when the lake cannot be written (or the store not reached)."""
    try:  # writing the probe makes the lake's folders on a local disk
        probe = lake / RUNS_DIR / f".write-probe-{secrets.token_hex(4)}"
        write_bytes(probe, b"")
        # Removed without asking first whether it is there: a store may answer "no such key" to a HEAD right
        # after the PUT (rclone serve s3 under concurrent writes), and the write alone proves the lake writable.
        probe.fs.rm_file(probe.path)
    except OSError as error:
        raise UserError(f"lake {lake} is not writable: {error.strerror or error}") from None


def run_dir(lake: Location, run_id: str) -> Location:
    return lake / RUNS_DIR / run_id


def write_json(path: Location, value: Any) -> None:
    write_bytes(path, json.dumps(value, indent=1).encode("utf-8"))


def write_plan(lake: Location, plan: dict[str, Any], shards: list[list[SourceFile]]) -> None:
    """The plan, and each shard's file list apart: a task reads only its own list, however big the night."""
    for i, files in enumerate(shards):
        write_json(run_dir(lake, plan["run_id"]) / f"inputs-{i:05d}.json", [asdict(f) for f in files])
    write_json(run_dir(lake, plan["run_id"]) / "plan.json", plan)


def read_plan(lake: Location, run_id: str) -> dict[str, Any]:
    return _read_run_json(lake, run_id, "plan.json")


def read_shard_inputs(lake: Location, run_id: str, shard: int) -> list[SourceFile]:
    return [SourceFile(**f) for f in _read_run_json(lake, run_id, f"inputs-{shard:05d}.json")]


def _read_run_json(lake: Location, run_id: str, name: str) -> Any:
    path = run_dir(lake, run_id) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no {name} for run {run_id} in {path.parent}") from None


def write_receipt(lake: Location, run_id: str, shard: int, receipt: dict[str, int]) -> None:
    write_json(run_dir(lake, run_id) / f"shard-{shard:05d}.json", receipt)


def read_receipts(lake: Location, run_id: str, n_shards: int) -> list[dict[str, int]]:
    receipts = []
    for shard in range(n_shards):
        path = run_dir(lake, run_id) / f"shard-{shard:05d}.json"
        try:  # one read, no existence check first: on a store each is a request
            receipts.append(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UserError(f"run {run_id}: shard {shard} has not finished; not committing") from None
    return receipts


def commit(
    lake: Location,
    plan: dict[str, Any],
    receipts: list[dict[str, Any]],
    tables: Iterable[Table],
    written: dict[str, list[DataFile]],
) -> dict[str, Any]:
    """Publish the run: check every file is accounted for, write its runs row and its commit intent, then
    register the files in every table (see apply). Returns the runs row, and under "rows" the row count of
    every table.

    tables: every table with files of this run; written: the files the commit wrote itself, by table.
    """
    day, run_id = plan["date"], plan["run_id"]
    committed = committed_runs(lake, day)  # the runs table's log read once for the whole commit
    newer = [run for run in committed if run > run_id]
    if newer:  # run ids sort by plan time: a run that read older bytes must never become current
        raise UserError(f"run {run_id}: run {newer[-1]}, planned later, is already committed; not committing")
    files_seen = plan["files_seen"]
    accounted = sum(r["documents"] + r["rejects"] for r in receipts)
    if accounted != files_seen:
        raise UserError(f"run {run_id}: {accounted} of {files_seen} files accounted for; not committing")
    tables = tuple(tables)
    files = {t.name: [DataFile(**f) for r in receipts for f in r["files"].get(t.name, [])] for t in tables}
    for name, more in written.items():
        files[name] += more
    row = {
        "run_id": run_id,
        "started_at": datetime.fromisoformat(plan["started_at"]),
        "finished_at": datetime.now(UTC),
        "files_seen": files_seen,
        "files_ignored": len(plan["ignored"]),
        "documents": sum(r["documents"] for r in receipts),
        "duplicates": sum(r["duplicates"] for r in receipts),
        "rejects": sum(r["rejects"] for r in receipts),
        "shards": len(receipts),
        "model": plan["model"],
        "pipeline_version": plan["pipeline_version"],
        "files": [f"{name}/{f.path}" for name, table_files in files.items() for f in table_files],
    }
    intent_path = run_dir(lake, run_id) / COMMIT_FILE
    # A commit retried (an Airflow task, after a crash) finishes what its first attempt began, once.
    if run_id not in committed:
        if not intent_path.exists() or "runs" not in read_intent(intent_path):
            intent = {"date": day, "run_id": run_id, "files": {n: [asdict(f) for f in fs] for n, fs in files.items()}}
            # The intent before the runs row: on a lake without a runs table yet (its first commits), a runs row
            # with no intent beside it is release 0.1's, and a run planning meanwhile would convert the lake.
            write_json(intent_path, intent)
            runs_file = write_rows(RUNS, [row], runs_row_path(lake, day, run_id), lake)
            write_json(intent_path, intent | {"runs": [asdict(runs_file)]})
        apply(lake, intent_path, committed)
        committed = sorted({*committed, run_id})
    collect_garbage(lake, day, tables, committed)
    counts = {name: sum(f.rows for f in table_files) for name, table_files in files.items()}
    return row | {"date": day, "rows": counts | {RUNS.name: 1}}


def runs_row_path(lake: Location, day: str, run_id: str) -> Location:
    return partition_dir(lake, RUNS.name, day) / f"{run_id}.parquet"


def read_intent(path: Location) -> dict[str, Any]:
    """A commit intent; one without "runs" stopped before its runs row was recorded: nothing of it is in a table."""
    return json.loads(path.read_text(encoding="utf-8"))


def apply(lake: Location, intent_path: Location, committed: list[str] | None = None) -> None:
    """Carry out a commit intent: replace the date's partition in every table, then add the runs row, then
    drop the intent. Until the runs row is in, the views show the date's previous run (see current_files);
    a crash anywhere leaves the intent, which the next run of the date or `news-etl repair` applies again
    (each step is checked first, so applying twice does nothing twice). committed: the date's committed
    runs, when the caller just read them (under the date's lock, they cannot change meanwhile)."""
    from pipeline.registry import table

    intent = read_intent(intent_path)
    day, run_id = intent["date"], intent["run_id"]
    with commit_lock(lake):
        for name, entries in intent["files"].items():
            files = [DataFile(**f) for f in entries]
            snapshot = delta.open_table(lake, table(name))  # one read of the log: compared, then committed to
            current = {f.path for f in delta.partitions(snapshot).get(day, [])}
            if current != {f.path for f in files}:  # a rerun that changed nothing references the same files
                delta.register(lake, table(name), day, files, replace=True, snapshot=snapshot)
        if run_id not in (committed_runs(lake, day) if committed is None else committed):
            delta.register(lake, RUNS, day, [DataFile(**f) for f in intent["runs"]], replace=False)
    intent_path.unlink(missing_ok=True)


@contextlib.contextmanager
def commit_lock(lake: Location) -> Iterator[None]:
    """One commit at a time in the whole lake, where the store cannot arbitrate Delta commits itself."""
    if not backend(lake).serialises_commits():
        yield
        return
    holder = new_run_id()
    deadline = time.monotonic() + COMMIT_WAIT_SECONDS
    while True:
        try:
            locks.acquire(lake, locks.COMMITS, holder, locks.CLI_OWNER, COMMIT_WAIT_SECONDS)
            break
        except DateBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5 + secrets.randbelow(1000) / 1000)  # two waiting commits must not retry in step
    try:
        yield
    finally:
        locks.release(lake, locks.COMMITS, holder)


def pending_intents(lake: Location, day: str | None = None) -> list[Location]:
    """Commit intents not yet applied (a commit in flight, or one that crashed), for a date or all dates."""
    runs_dir = lake / RUNS_DIR
    found = sorted(runs_dir.glob(f"*/{COMMIT_FILE}"), key=str) if runs_dir.is_dir() else []
    if day is None:
        return found
    return [p for p in found if read_intent(p)["date"] == day]


def repair(lake: Location, day: str | None = None, locked: bool = False, stale_seconds: float = 1800) -> list[str]:
    """Apply every pending commit intent (of one date, or all), oldest plan first; returns their run ids.
    An intent older than the date's current run is dropped: the newer run replaced it whole. Each date is
    taken with its lock first (a live run's commit is its own business), unless the caller holds it."""
    done = []
    for path in pending_intents(lake, day):
        intent = read_intent(path)
        holder = new_run_id()
        if not locked:
            try:
                locks.acquire(lake, intent["date"], holder, "repair", stale_seconds)
            except DateBusy as busy:
                log.warning("not repairing run %s: %s", intent["run_id"], busy)
                continue
        try:
            if "runs" not in intent:  # the commit stopped before its runs row was recorded: it never began
                runs_row_path(lake, intent["date"], intent["run_id"]).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                continue
            if any(run > intent["run_id"] for run in committed_runs(lake, intent["date"])):
                path.unlink(missing_ok=True)
                continue
            log.warning("finishing the commit of run %s for %s", intent["run_id"], intent["date"])
            apply(lake, path)
            done.append(intent["run_id"])
        finally:
            if not locked:
                locks.release(lake, intent["date"], holder)
    return done


def committed_runs(lake: Location, day: str) -> list[str]:
    """Run ids committed for a date, oldest plan first (run ids sort by plan time): the last one is current."""
    files = delta.partitions(delta.open_table(lake, RUNS)).get(day, [])
    return sorted(f.name.removesuffix(".parquet") for f in files)


def current_runs(lake: Location) -> dict[str, str]:
    """The current run of every committed date."""
    return {
        day: max(f.name.removesuffix(".parquet") for f in files)
        for day, files in delta.partitions(delta.open_table(lake, RUNS)).items()
    }


def current_files(lake: Location, table: Table, runs: dict[str, str]) -> dict[str, list[DataFile]]:
    """The files of a table that hold the current rows of each date: its Delta partition when every file there is the
    current run's (named by it; compaction keeps the name) or an earlier run's that the current one carried over as
    it was (see incremental.py: no later run's file can be in it then), else, while a newer run's commit is half
    done or crashed, the files the current run recorded in its runs row (still on disk: vacuum keeps replaced files
    for a week; or its compacted files, see recorded_files). Every run writes at least one file per table and date,
    so an empty partition is never a table without rows. That is how the views never mix one run's table with
    another's. A history table (runs, checks: see Table.per_run) only ever gains files, each one whole commit or
    check run: every file of its partition is current."""
    if not table.per_run:
        return delta.partitions(delta.open_table(lake, table))
    partitions = delta.partitions(delta.open_table(lake, table))
    found = {}
    for day, run_id in runs.items():
        files = partitions.get(day, [])
        if not files or any((file_run(f.name) or "~") > run_id for f in files):  # "~": sorts after any run id
            files = recorded_files(lake, table, day, run_id)
        found[day] = files
    return found


def file_run(name: str) -> str | None:
    """The run that wrote a data file (or whose files a compacted file holds), by its name."""
    match = RUN_FILE.match(name) or COMPACTED_FILE.match(name)
    return match["run_id"] if match else None


def recorded_files(lake: Location, table: Table, day: str, run_id: str) -> list[DataFile]:
    """The files of a table the run listed in its runs row, less any moved aside as damaged (verify.py); or,
    once they were compacted and vacuumed (maintain.py), the run's compacted files, which hold the same rows."""
    row = read_parquet(runs_row_path(lake, day, run_id), columns=["files"]).to_pylist()[0]
    prefix = f"{table.name}/"
    paths = [path.removeprefix(prefix) for path in row["files"] or [] if path.startswith(prefix)]
    present = [DataFile(path, 0, 0, 0) for path in paths if (lake / table.name / path).exists()]
    if len(present) < len(paths):
        return compacted_files(lake, table, day, run_id) or present
    return present


def compacted_file(lake: Location, table: Table, day: str, run_id: str, sources: list[DataFile]) -> Location:
    """Where maintain writes the compaction of these files of a run (see COMPACTED_FILE)."""
    digest = hashlib.sha256("\n".join(sorted(f.path for f in sources)).encode()).hexdigest()[:8]
    return partition_dir(lake, table.name, day) / f"{run_id}-compacted-{digest}.parquet"


def compacted_files(lake: Location, table: Table, day: str, run_id: str) -> list[DataFile]:
    folder = partition_dir(lake, table.name, day)
    found = sorted(p.name for p in folder.glob(f"{run_id}-compacted-*.parquet")) if folder.is_dir() else []
    return [DataFile(f"{folder.name}/{name}", 0, 0, 0) for name in found if COMPACTED_FILE.match(name)]


def lake_paths(lake: Location, table: Table, files: list[DataFile]) -> list[Location]:
    return [lake / table.name / f.path for f in files]


def collect_garbage(lake: Location, day: str, tables: Iterable[Table], committed: list[str] | None = None) -> None:
    """Drop the files of runs of this date that never committed and never can: planned before the current
    one (see commit), or dead long ago. Files of committed runs stay (a later run's commit may reference
    them: see incremental.py): Delta's time travel reads them until `news-etl maintain` vacuums them, and
    vacuum never deletes a file the current version lists. committed: as committed_runs, if just read."""
    committed = committed_runs(lake, day) if committed is None else committed
    current = committed[-1]
    cutoff = time.time() - STALE_SECONDS

    def garbage(run_id: str) -> bool:
        return run_id not in committed and (run_id < current or run_started(run_id).timestamp() < cutoff)

    for table in (*tables, RUNS):
        folder = partition_dir(lake, table.name, day)
        for path in folder.iterdir() if folder.is_dir() else []:
            match = RUN_FILE.match(path.name)
            if match and garbage(match["run_id"]):
                path.unlink(missing_ok=True)
    # Plans and receipts matter only while a run is in flight.
    runs_dir = lake / RUNS_DIR
    for folder in runs_dir.iterdir() if runs_dir.is_dir() else []:
        if not RUN_ID.match(folder.name) or (folder / COMMIT_FILE).exists():  # an intent is a commit under way
            continue
        if folder.name in committed[:-1] or run_started(folder.name).timestamp() < cutoff:
            remove_tree(folder)


def abandon(lake: Location, day: str, run_id: str, tables: Iterable[Table]) -> None:
    """Remove what a run that will never commit wrote: its plan, receipts and data files. A run that did
    commit (or wrote its commit intent, which repair applies) is left alone."""
    if run_id in committed_runs(lake, day) or (run_dir(lake, run_id) / COMMIT_FILE).exists():
        return
    for table in tables:
        for path in run_files(lake, table, day, run_id):
            path.unlink(missing_ok=True)
    remove_tree(run_dir(lake, run_id))


def read_run_table(lake: Location, table: Table, day: str, run_id: str, columns: list[str] | None = None) -> pa.Table:
    """The rows of a table that a committed run wrote for its date."""
    return read_files(table, lake_paths(lake, table, current_files(lake, table, {day: run_id})[day]), columns)

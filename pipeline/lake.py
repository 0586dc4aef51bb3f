"""The lake's bookkeeping: run plans, shard receipts, the atomic commit of a partition, clean-up.

How a partition is replaced atomically, on a local disk and on object storage alike: every run writes
its own files (named by run id) next to the older ones, and nothing reads them until the commit writes
one file, the run's row in LAKE/runs/date=D/. The views read, for each date, only the files of the
newest committed run. A crash before that write leaves files that no view shows and that clean-up
removes later; the write itself is a rename (or a single object PUT), so readers see all or nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline.documents import SourceFile
from pipeline.errors import UserError
from pipeline.storage import Location, remove_tree, write_bytes
from pipeline.tables import TIMESTAMP, Table, partition_dir, run_files, write_rows

RUNS_DIR = "_runs"  # plans and shard receipts: underscore folders are not tables
KEEP_COMMITTED = 2  # the current run and the one before, so queries already running can finish
STALE_SECONDS = 24 * 3600  # files of a run that never committed are garbage after this
RUN_ID = re.compile(r"^r\d{8}T\d{12}-[0-9a-f]{6}$")
# A run's data file (with its shard number) or runs row (without), or one staged for either.
RUN_FILE = re.compile(r"^\.?(?P<run_id>r\d{8}T\d{12}-[0-9a-f]{6})(-\d{5})?\.parquet(\.tmp)?$")

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
        probe.unlink()
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
    lake: Location, plan: dict[str, Any], receipts: list[dict[str, Any]], tables: Iterable[Table], rows: dict[str, int]
) -> dict[str, Any]:
    """Publish the run: check every file is accounted for, then write its runs row (the one atomic step).

    tables: every table with files of this run (for clean-up); rows: those the commit wrote itself. Returns the
    runs row, and under "rows" the row count of every table.
    """
    newer = [run for run in committed_runs(lake, plan["date"]) if run > plan["run_id"]]
    if newer:  # run ids sort by plan time: a run that read older bytes must never become current
        raise UserError(f"run {plan['run_id']}: run {newer[-1]}, planned later, is already committed; not committing")
    files_seen = plan["files_seen"]
    accounted = sum(r["documents"] + r["rejects"] for r in receipts)
    if accounted != files_seen:
        raise UserError(f"run {plan['run_id']}: {accounted} of {files_seen} files accounted for; not committing")
    row = {
        "run_id": plan["run_id"],
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
    }
    day = plan["date"]
    counts = Counter(rows) + sum((Counter(r["rows"]) for r in receipts), Counter())
    counts[RUNS.name] = write_rows(RUNS, [row], partition_dir(lake, RUNS.name, day) / f"{row['run_id']}.parquet")
    collect_garbage(lake, day, tables)
    return row | {"date": day, "rows": {t.name: counts[t.name] for t in (*tables, RUNS)}}


def committed_runs(lake: Location, day: str) -> list[str]:
    """Run ids committed for a date, oldest plan first (run ids sort by plan time): the last one is current."""
    folder = partition_dir(lake, "runs", day)
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".parquet") for p in folder.glob("*.parquet") if RUN_ID.match(p.stem))


def collect_garbage(lake: Location, day: str, tables: Iterable[Table]) -> None:
    """Drop the files of superseded runs, keeping the newest few; of runs of this date planned before the
    current one that never committed (they never can: see commit); and of runs that died long ago."""
    committed = committed_runs(lake, day)
    keep = set(committed[-KEEP_COMMITTED:])
    superseded = set(committed) - keep
    current = committed[-1]
    cutoff = time.time() - STALE_SECONDS

    def garbage(run_id: str) -> bool:
        if run_id in keep:
            return False
        return run_id in superseded or run_id < current or run_started(run_id).timestamp() < cutoff

    for table in (*tables, RUNS):
        folder = partition_dir(lake, table.name, day)
        for path in folder.iterdir() if folder.is_dir() else []:
            match = RUN_FILE.match(path.name)
            history = table is RUNS and match and match["run_id"] in committed  # runs rows are kept for good
            if match and not history and garbage(match["run_id"]):
                path.unlink(missing_ok=True)
    # Plans and receipts matter only while a run is in flight.
    runs_dir = lake / RUNS_DIR
    for folder in runs_dir.iterdir() if runs_dir.is_dir() else []:
        if RUN_ID.match(folder.name) and (folder.name in superseded or run_started(folder.name).timestamp() < cutoff):
            remove_tree(folder)


def abandon(lake: Location, day: str, run_id: str, tables: Iterable[Table]) -> None:
    """Remove what a run that will never commit wrote: its plan, receipts and data files. A run that did
    commit (and died after it) is left alone: its files are the date's current rows."""
    if run_id in committed_runs(lake, day):
        return
    for table in tables:
        for path in run_files(lake, table, day, run_id):
            path.unlink(missing_ok=True)
    remove_tree(run_dir(lake, run_id))

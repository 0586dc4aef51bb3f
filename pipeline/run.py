"""The only place the stages are chained: plan a partition, process its shards, commit it.

Airflow calls the three steps as separate tasks (one mapped task per shard); `run_partition` chains them
in one process pool for the command line. Both write the same files.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import resource
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pipeline.analysis import Item, analysed, with_facts
from pipeline.config import LOG_DATE_FORMAT, LOG_FORMAT, Settings
from pipeline.delta import DataFile
from pipeline.documents import REJECTS, Reject, SourceFile, list_partition, read_document, shard
from pipeline.errors import UserError
from pipeline.extract.document import DOCUMENTS, document_row
from pipeline.extract.entities import ENTITIES
from pipeline.extract.near_duplicates import NEAR_DUPLICATES, NUM_PERM, SIGNATURES, cluster_rows
from pipeline.incremental import carry_over, previous_run, split_reusable
from pipeline.lake import (
    abandon,
    check_writable,
    commit,
    new_run_id,
    read_plan,
    read_receipts,
    read_shard_inputs,
    repair,
    write_plan,
    write_receipt,
)
from pipeline.locks import CLI_OWNER, acquire, heartbeat, release
from pipeline.migrate import migrate
from pipeline.nlp import load_model, model_id, planned_model_id
from pipeline.registry import run_tables, shard_tables
from pipeline.rollups import ROLLUPS, write_rollups
from pipeline.storage import Location
from pipeline.tables import ShardWriter, data_file, read_files, write_rows
from pipeline.version import pipeline_version

log = logging.getLogger(__name__)
MAX_SHARDS = 1024  # Airflow's max_map_length
PROGRESS_SECONDS = 10.0
ETA_AFTER_FILES = 20
READ_AHEAD = 8  # files read ahead of the model: at most this many (up to max_file_bytes each) wait in memory


def plan_run(
    settings: Settings,
    day: date,
    workers: int = 1,
    allow_missing: bool = False,
    force: bool = False,
    owner: str = CLI_OWNER,
) -> dict[str, Any]:
    """Take the date's lock, list and hash the partition, take over unchanged work, deal the rest into shards,
    save the plan. The lock is held until the commit (see locks.py); owner says who holds it.

    Returns the plan without its file lists. Shards 0 .. n_fresh-1 are to be processed; a last shard, when
    present, holds the rows carried over from the date's current run (already written here).
    """
    folder = settings.raw_root / day.isoformat()
    if not folder.is_dir():
        if not allow_missing:
            hint = "--allow-missing commits an empty partition instead"
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", settings.raw_root.name):
                hint = (
                    f"--raw-root is the folder that holds the date folders: try --raw-root {settings.raw_root.parent}"
                )
            raise UserError(f"no landing folder for {day}: {folder} does not exist ({hint})")
        log.warning("no landing folder for %s at %s: committing an empty partition", day, folder)
    check_writable(settings.lake)
    migrate(settings.lake, owner, settings.lock_stale_seconds)  # a lake of release 0.1 is converted first
    run_id, model = new_run_id(), planned_model_id(settings.model, settings.exclude)  # no model loaded yet
    for dead in acquire(settings.lake, day.isoformat(), run_id, owner, settings.lock_stale_seconds):
        abandon(settings.lake, day.isoformat(), dead, run_tables())
    repair(settings.lake, day.isoformat(), locked=True)  # a commit of the date that crashed half way: finished first
    try:
        return _plan(settings, day, workers, force, folder, run_id, model)
    except BaseException:
        abandon(settings.lake, day.isoformat(), run_id, run_tables())
        release(settings.lake, day.isoformat(), run_id)
        raise


def _plan(
    settings: Settings, day: date, workers: int, force: bool, folder: Location, run_id: str, model: str
) -> dict[str, Any]:
    files, ignored = list_partition(settings.raw_root, day, settings.io_threads) if folder.is_dir() else ([], [])
    version = pipeline_version(settings.exclude, settings.chunk_chars)
    previous = None if force else previous_run(settings.lake, day.isoformat(), model, version)
    fresh, reused_docs, reused_rejects = split_reusable(files, previous)
    if fresh:  # a model that cannot make the tables fails now, before any work; with nothing to analyse, none loads
        load_model(settings.model, settings.exclude)
    n_fresh = shard_count(len(fresh), settings.files_per_shard, workers)
    plan = {
        "run_id": run_id,
        "date": day.isoformat(),
        "started_at": datetime.now(UTC).isoformat(),
        "files_seen": len(files),
        "ignored": ignored,
        "model": model,
        "pipeline_version": version,
        "n_fresh": n_fresh,
        "n_shards": n_fresh + (previous is not None),
        "reused_from": previous.run_id if previous else None,
    }
    write_plan(settings.lake, plan, shard(fresh, n_fresh))
    if previous is not None:
        files, duplicates = carry_over(
            settings.lake, day.isoformat(), previous, run_id, n_fresh, reused_docs, reused_rejects, not fresh
        )
        write_receipt(settings.lake, run_id, n_fresh, receipt_of(files, duplicates))
    reused = len(reused_docs) + len(reused_rejects)
    log.info(
        "run %s: %d files for %s (%d ignored): %d to analyse in %d shards%s",
        run_id,
        len(files),
        day,
        len(ignored),
        len(fresh),
        n_fresh,
        f", {reused} unchanged since run {previous.run_id}" if previous else ", none analysed before",
    )
    return plan


def shard_count(n_files: int, files_per_shard: int, workers: int) -> int:
    """Enough shards to keep each small, and a multiple of the workers so none of them idles at the end."""
    n = max(workers, math.ceil(n_files / files_per_shard))
    n = math.ceil(n / workers) * workers
    return max(1, min(n, MAX_SHARDS, max(n_files, 1)))


def process_shard(settings: Settings, run_id: str, shard_idx: int) -> dict[str, int]:
    """Read, analyse and write one shard; leave a receipt so the commit knows it is done."""
    reset_peak_rss()
    plan = read_plan(settings.lake, run_id)
    sources = read_shard_inputs(settings.lake, run_id, shard_idx)
    if not sources and plan["reused_from"]:  # a rerun with nothing to analyse: the carry shard has every table
        receipt = receipt_of({t.name: [] for t in shard_tables()}, 0)
        write_receipt(settings.lake, run_id, shard_idx, receipt)
        return receipt
    if sources:  # an empty shard loads no model
        nlp = load_model(settings.model, settings.exclude)
        if model_id(nlp) != plan["model"]:
            raise UserError(f"run {run_id} was planned with {plan['model']} but this worker has {model_id(nlp)}")
    heartbeat(settings.lake, plan["date"], run_id)
    writer = ShardWriter(settings.lake, plan["date"], run_id, shard_idx, shard_tables())
    duplicates = 0
    progress = Progress(f"shard {shard_idx}", len(sources), lambda: heartbeat(settings.lake, plan["date"], run_id))
    try:
        for item, facts, analysis in analysed(nlp, settings, read_all(settings, sources)) if sources else ():
            if isinstance(item, Reject):
                writer.add(REJECTS.name, [item.row()])
            else:
                assert facts is not None
                row = document_row(
                    item, facts, analysis.n_tokens, analysis.error, plan["model"], plan["pipeline_version"]
                )
                writer.add(DOCUMENTS.name, [row])
                writer.add(SIGNATURES.name, [{"doc_id": item.doc_id, "minhash": facts.signature}])
                for table, rows in analysis.tables.items():
                    writer.add(table, rows)
                duplicates += item.duplicate_of is not None
            progress.step()
        files = writer.close()
    except BaseException:
        writer.abort()
        raise
    receipt = receipt_of({table: [file] for table, file in files.items()}, duplicates) | {"peak_rss_mb": peak_rss_mb()}
    write_receipt(settings.lake, run_id, shard_idx, receipt)
    log.info(
        "shard %d done: %d documents (%d duplicates), %d rejects; %s; peak memory %d MB",
        shard_idx,
        receipt["documents"],
        duplicates,
        receipt["rejects"],
        ", ".join(
            f"{n} {table}" for table, n in receipt["rows"].items() if table not in (DOCUMENTS.name, REJECTS.name)
        ),
        receipt["peak_rss_mb"],
    )
    return receipt


def receipt_of(files: dict[str, list[DataFile]], duplicates: int) -> dict[str, Any]:
    """What a shard (or the carry-over) reports to the commit: files accounted for, its files per table."""
    rows = {table: sum(f.rows for f in table_files) for table, table_files in files.items()}
    return {
        "documents": rows[DOCUMENTS.name],
        "duplicates": duplicates,
        "rejects": rows[REJECTS.name],
        "rows": rows,
        "files": {table: [asdict(f) for f in table_files] for table, table_files in files.items()},
    }


def read_all(settings: Settings, sources: Iterable[SourceFile]) -> Iterator[Item]:
    """The shard's files in order, read a few ahead in threads: a store's latency hides behind the parsing."""
    with ThreadPoolExecutor(READ_AHEAD) as pool:
        ahead: deque[Future[Item]] = deque()
        for source in sources:
            ahead.append(pool.submit(read_one, settings, source))
            if len(ahead) >= READ_AHEAD:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def read_one(settings: Settings, source: SourceFile) -> Item:
    return with_facts(read_document(settings.raw_root, source, settings.max_file_bytes))


def commit_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """Group near-duplicates and sum the rollups across the run's shards, then publish the run and free its date."""
    plan = read_plan(settings.lake, run_id)
    heartbeat(settings.lake, plan["date"], run_id)
    receipts = read_receipts(settings.lake, run_id, plan["n_shards"])
    written = {}
    carried = {name for r in receipts for name in r["files"]}  # a rerun that changed nothing carries them all
    if NEAR_DUPLICATES.name not in carried:
        written[NEAR_DUPLICATES.name] = [near_duplicates(settings, plan, receipts)]
    entities = [settings.lake / ENTITIES.name / f["path"] for r in receipts for f in r["files"][ENTITIES.name]]
    missing = [t for t in ROLLUPS if t.name not in carried]
    rolled = write_rollups(settings.lake, missing, plan["date"], plan["run_id"], plan["n_shards"], entities)
    written |= {name: [file] for name, file in rolled.items()}
    row = commit(settings.lake, plan, receipts, run_tables(), written)
    release(settings.lake, plan["date"], run_id)
    log.info(
        "committed %s for %s: %d files -> %d documents (%d duplicates), %d rejects",
        run_id,
        plan["date"],
        row["files_seen"],
        row["documents"],
        row["duplicates"],
        row["rejects"],
    )
    return row


def near_duplicates(settings: Settings, plan: dict[str, Any], receipts: list[dict[str, Any]]) -> DataFile:
    """The run's near-duplicate clusters, from the signatures of all its shards (carried ones included)."""
    paths = [settings.lake / SIGNATURES.name / f["path"] for r in receipts for f in r["files"][SIGNATURES.name]]
    signatures = read_files(SIGNATURES, paths)
    matrix = signatures["minhash"].combine_chunks().flatten().to_numpy().reshape(len(signatures), NUM_PERM)
    run_id = plan["run_id"]
    clusters = [row | {"run_id": run_id} for row in cluster_rows(signatures["doc_id"].to_pylist(), matrix)]
    target = data_file(settings.lake, NEAR_DUPLICATES.name, plan["date"], run_id, plan["n_shards"])
    return write_rows(NEAR_DUPLICATES, clusters, target, settings.lake)


def run_partition(
    settings: Settings, day: date, workers: int = 1, allow_missing: bool = False, force: bool = False
) -> dict[str, Any]:
    """Plan, process every shard (in `workers` processes), commit. What `news-etl run` does."""
    plan = plan_run(settings, day, workers, allow_missing, force)
    run_id, n_fresh = plan["run_id"], plan["n_fresh"]
    try:
        if workers == 1:
            for i in range(n_fresh):
                process_shard(settings, run_id, i)
        else:
            # spawn, not fork: each worker starts clean and loads the model once for all its shards
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=setup_worker) as pool:
                list(pool.map(process_shard, [settings] * n_fresh, [run_id] * n_fresh, range(n_fresh)))
        return commit_run(settings, run_id)
    except BaseException:
        abandon(settings.lake, plan["date"], run_id, run_tables())  # the CLI never resumes a run
        raise
    finally:
        release(settings.lake, plan["date"], run_id)  # a failed run frees its date for the next one


def reset_peak_rss() -> None:
    """Start this process's peak resident memory afresh (Linux: clear_refs 5), so that a shard's receipt shows
    the shard's own peak. Without it the figure is the peak of every shard before too, which rises with the
    biggest batch met so far and read as a creep over a long run (the resident memory itself stays flat:
    benchmarks/bench_memory.py)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> int:
    """This process's peak resident memory since reset_peak_rss (VmHWM), else since it started (ru_maxrss)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        lines = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in lines if line.startswith("VmHWM:")).split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def setup_worker() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT)


class Progress:
    """A log line every few seconds: files done, rate, time left; and a heartbeat for the date's lock."""

    def __init__(self, name: str, total: int, beat: Callable[[], None]) -> None:
        self.name, self.total, self.done, self.beat = name, total, 0, beat
        self.start = self.last = time.monotonic()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.beat()
            rate = self.done / (now - self.start)
            # The first files pay for warming up (the model's first batches): no estimate from too few.
            left = f", about {(self.total - self.done) / rate:.0f} s left" if self.done >= ETA_AFTER_FILES else ""
            log.info("%s: %d/%d files, %.1f files/s%s", self.name, self.done, self.total, rate, left)

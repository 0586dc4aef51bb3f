"""`news-etl maintain`: compact each date's small files, then vacuum the files no view and no recent version needs.

Rollups first: a date committed before the rollup tables existed gets them (rollups.fill), so the marts that sum
them cover it.

Compaction. A committed date holds one file per shard in each table. Maintain rewrites them, under the date's
lock, into one file (a few for a very large date: TARGET_FILE_BYTES) holding the same rows, run_id included,
named by the same run (LAKE/<table>/date=D/<run_id>-compacted-<digest>.parquet, so lake.current_files still
knows it as the current run's), and replaces the date's partition with it in one Delta commit per table. The
shard files stay on disk, reachable by time travel, until a vacuum at least a retention later. delta-rs's own
optimize is not used: it names files itself, and the views tell a date's current files by their run id.

Vacuum. Deletes, in every table, the files Delta replaced longer than the retention ago (NEWS_RETENTION_HOURS,
at least 168: time travel reaches a week back; kept as the table's delta.deletedFileRetentionDuration, so other
engines' vacuums and Delta's checkpoints hold to it too), and the files of runs that never committed once they
are stale (lake.STALE_SECONDS, as lake.collect_garbage). delta-rs only lists them (dry runs; `full` for the
files no version lists); the deleting is ours, so that it never touches what the views read: the files the
views would read now (views.lake_files) and those the existing database's views read (views.database_files),
which after a compaction without a rebuild are the replaced ones. Files not named by a run are not ours and
stay. Vacuum works inside each table's folder: LAKE/_runs, _locks and _damaged are never listed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import delta, locks, rollups
from pipeline.config import MIN_RETENTION_HOURS, Settings, checked_retention
from pipeline.delta import DataFile
from pipeline.errors import DateBusy, UserError
from pipeline.lake import (
    COMPACTED_FILE,
    RUN_FILE,
    RUNS,
    STALE_SECONDS,
    abandon,
    commit_lock,
    committed_runs,
    compacted_file,
    current_runs,
    lake_paths,
    new_run_id,
    pending_intents,
    run_started,
)
from pipeline.registry import TABLES, run_tables
from pipeline.storage import Location, writing
from pipeline.tables import ROW_GROUP_ROWS, WRITE_OPTIONS, DamagedFile, Table, arrow_target, read_parquet

if TYPE_CHECKING:
    from deltalake import DeltaTable

log = logging.getLogger(__name__)
T = TypeVar("T")
RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"

# Input bytes per compacted file: a day of news is far less; a huge date becomes a few files of this size.
TARGET_FILE_BYTES = 512 * 2**20
# Rows gathered before a row group is written, as the shard writer cuts documents' (tables.ROW_GROUP_TEXT_CHARS):
# memory stays near this whatever the date's size.
ROW_GROUP_BYTES = 32 * 2**20


@dataclass
class TableReport:
    dates_compacted: int = 0
    files_replaced: int = 0  # shard files taken out of the table by compaction
    files_written: int = 0  # compacted files in their place
    files_deleted: int = 0
    bytes_freed: int = 0


@dataclass
class Report:
    tables: dict[str, TableReport] = field(default_factory=lambda: {t.name: TableReport() for t in TABLES})
    busy: list[str] = field(default_factory=list)  # dates another run held: not compacted this time
    rolled_up: list[str] = field(default_factory=list)  # dates given the rollups they lacked (rollups.py)
    views_rebuilt: bool = False
    dry_run: bool = False


def maintain(
    settings: Settings,
    retention_hours: int | None = None,
    dry_run: bool = False,
    enforce_retention: bool = True,
    rebuild_views: bool = True,
) -> Report:
    """Compact, rebuild the views when a database exists and something was compacted (so they read the new
    files), then vacuum. enforce_retention=False allows a retention under a week (tests only)."""
    from pipeline.views import build_database, database_files

    hours = settings.retention_hours if retention_hours is None else retention_hours
    check_retention(hours, enforce_retention)
    # Read before the rebuild: a session opened on the old database still reads these.
    old_views = database_files(settings.db)
    report = Report(dry_run=dry_run)
    fill_rollups(settings.lake, settings.lock_stale_seconds, report, dry_run)
    compact(settings.lake, settings.lock_stale_seconds, report, dry_run)
    compacted = any(t.files_written for t in report.tables.values()) or bool(report.rolled_up)
    if rebuild_views and compacted and not dry_run and settings.db.exists():
        try:
            build_database(settings.lake, settings.db)
        except UserError as error:
            raise UserError(f"{error}; the compaction is committed, nothing was vacuumed") from None
        report.views_rebuilt = True
    vacuum(settings.lake, settings.db, hours, report, dry_run, enforce_retention, keep=old_views)
    return report


def check_retention(hours: int, enforce: bool) -> None:
    if enforce:
        checked_retention(hours, "retention_hours")
    elif hours < 0:
        raise UserError(f"retention_hours={hours}: must not be negative")


def fill_rollups(lake: Location, stale_seconds: int, report: Report, dry_run: bool = False) -> Report:
    """Give every committed date the rollups it lacks: a lake committed before they existed (rollups.py)."""
    for day in rollups.missing_dates(lake, current_runs(lake)):
        if dry_run:
            report.rolled_up.append(day)
            continue
        written = with_date_locked(lake, day, stale_seconds, report, "no rollups written", fill_date)
        if written is not None:
            report.rolled_up.append(day)
            log.info("%s: rollups written: %s", day, ", ".join(written))
    return report


def fill_date(lake: Location, day: str) -> list[str]:
    return rollups.fill(lake, day, committed_runs(lake, day)[-1])


def with_date_locked(
    lake: Location, day: str, stale_seconds: int, report: Report, refused: str, work: Callable[[Location, str], T]
) -> T | None:
    """work(lake, day) under the date's lock, once the runs whose lock was dead are abandoned (they never
    commit); None, with the date reported busy, when a run holds it."""
    holder = new_run_id()
    try:
        dead = locks.acquire(lake, day, holder, locks.MAINTAIN_OWNER, stale_seconds)
    except DateBusy as busy:
        log.info("%s: %s: %s", day, refused, busy)
        report.busy.append(day)
        return None
    try:
        for run_id in dead:
            abandon(lake, day, run_id, run_tables())
        return work(lake, day)
    finally:
        locks.release(lake, day, holder)


def compact(lake: Location, stale_seconds: int, report: Report, dry_run: bool = False) -> Report:
    """Compact every committed date whose partition of some table holds several files of its current run."""
    runs = current_runs(lake)
    candidates = sorted(
        {
            day
            for t in run_tables()
            for day, files in partitions(lake, t).items()
            if day in runs and groups(files, runs[day])
        }
    )
    for day in candidates:
        if dry_run:
            if locks.locks(lake, day):
                report.busy.append(day)
            else:
                compact_date(lake, day, report, dry_run=True)
            continue
        with_date_locked(lake, day, stale_seconds, report, "not compacted", partial(compact_date, report=report))
    return report


def partitions(lake: Location, table: Table) -> dict[str, list[DataFile]]:
    return delta.partitions(delta.open_table(lake, table))


def groups(files: list[DataFile], run_id: str) -> list[list[DataFile]]:
    """The files to write into each compacted file; none when compacting gains nothing or the partition is not
    the run's shard files alone (a newer run's commit under way, or compacted already)."""
    if len(files) < 2 or any(not is_shard_file(f, run_id) for f in files):
        return []
    found: list[list[DataFile]] = []
    size = 0
    for f in sorted(files, key=lambda f: f.path):
        if found and size + f.size <= TARGET_FILE_BYTES:
            found[-1].append(f)
            size += f.size
        else:
            found.append([f])
            size = f.size
    return found if len(found) < len(files) else []


def is_shard_file(f: DataFile, run_id: str) -> bool:
    match = RUN_FILE.match(f.name)
    # an earlier run's: the current run carried that file over as it was (incremental.py)
    return bool(match) and match["run_id"] <= run_id and not f.name.startswith(".")


def compact_date(lake: Location, day: str, report: Report, dry_run: bool = False) -> None:
    """Under the date's lock: read again what the date holds now, and compact each table's partition."""
    run_id = committed_runs(lake, day)[-1]
    for table in run_tables():
        files = partitions(lake, table).get(day, [])
        todo = groups(files, run_id)
        if not todo:
            continue
        figures = report.tables[table.name]
        if dry_run:
            figures.dates_compacted += 1
            figures.files_replaced += len(files)
            figures.files_written += len(todo)
            continue
        try:
            written = [write_compacted(lake, table, day, run_id, sources) for sources in todo]
        except DamagedFile as damaged:
            log.warning("%s %s: not compacted: %s (see `news-etl verify`)", table.name, day, damaged)
            continue
        # Should the commit fail, its files stay: vacuum removes them once stale, unless the commit did go in.
        with commit_lock(lake):
            delta.register(lake, table, day, written, replace=True)
        figures.dates_compacted += 1
        figures.files_replaced += len(files)
        figures.files_written += len(written)
        log.info("%s %s: %d files compacted into %d", table.name, day, len(files), len(written))


def write_compacted(lake: Location, table: Table, day: str, run_id: str, sources: list[DataFile]) -> DataFile:
    """One file with the rows of the sources, in their order, page checksums verified on the way."""
    path = compacted_file(lake, table, day, run_id, sources)
    rows = 0
    with writing(path) as tmp:
        writer = pq.ParquetWriter(schema=table.schema, **arrow_target(tmp), **WRITE_OPTIONS)
        try:
            buffer: list[pa.Table] = []
            for source in lake_paths(lake, table, sources):
                buffer.append(read_parquet(source, schema=table.schema))
                rows += len(buffer[-1])
                if sum(map(len, buffer)) >= ROW_GROUP_ROWS or sum(b.nbytes for b in buffer) >= ROW_GROUP_BYTES:
                    writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP_ROWS)
                    buffer = []
            if buffer:
                writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP_ROWS)
        finally:
            writer.close()
    return DataFile.of(lake / table.name, path, rows)


def vacuum(
    lake: Location,
    db: Path | None,
    retention_hours: int,
    report: Report,
    dry_run: bool = False,
    enforce_retention: bool = True,
    keep: set[str] | frozenset[str] = frozenset(),
) -> Report:
    """Delete what no version within the retention, no view (of the database at db, or built now) and no run
    under way needs. keep: more paths not to delete (lake files, as the views list them)."""
    from pipeline.views import database_files, lake_files

    check_retention(retention_hours, enforce_retention)
    views = [*keep, *(database_files(db) if db else ()), *(p for paths in lake_files(lake).values() for p in paths)]
    kept = {file_key(path) for path in views}
    garbage = Garbage(lake)
    for table in TABLES:
        found = delta.open_table(lake, table)
        if found is None:
            continue
        if enforce_retention and not dry_run:
            keep_tombstones(lake, found, retention_hours)
        # The minimum is ours to enforce (check_retention); delta-rs would hold to the table's property instead.
        options = {"retention_hours": retention_hours, "dry_run": True, "enforce_retention_duration": False}
        replaced = set(found.vacuum(**options))
        untracked = set(found.vacuum(**options, full=True)) - replaced
        doomed = sorted(replaced | {path for path in untracked if garbage.of(table, path)})
        figures = report.tables[table.name]
        for relative in doomed:
            if file_key(f"{table.name}/{relative}") in kept:
                continue
            path = lake / table.name / relative
            try:
                size = path.stat().st_size
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:
                continue
            figures.files_deleted += 1
            figures.bytes_freed += size
        if figures.files_deleted:
            log.info("%s: %d files deleted, %d bytes", table.name, figures.files_deleted, figures.bytes_freed)
    return report


def keep_tombstones(lake: Location, table: DeltaTable, hours: int) -> None:
    """Make the table's deletedFileRetentionDuration the retention: a Delta checkpoint drops the record of a
    removed file after that long (and so would another engine's vacuum), and to vacuum the file is then one no
    version lists, which Garbage deletes if a committed run wrote it."""
    wanted = f"interval {hours} hours"
    found = table.metadata().configuration.get(RETENTION_PROPERTY)
    if found != wanted and (found is not None or hours != MIN_RETENTION_HOURS):  # no property: Delta's 7 days
        with commit_lock(lake):
            table.alter.set_table_properties({RETENTION_PROPERTY: wanted})


def file_key(path: str) -> str:
    """table/date=D/name: how a lake file is known whichever way the lake's location was written."""
    return "/".join(str(path).rsplit("/", 3)[-3:])


class Garbage:
    """Which of the files no Delta version lists are ours to delete (the views' files are kept apart):
    - a committed run's: every file of it was in its table once (lake.apply adds the runs row last), so it
      was replaced, and its record then dropped by a checkpoint, a retention after (keep_tombstones);
    - those of runs that never committed, are not committing now and are stale (as lake.collect_garbage);
    - compacted files a crashed compaction left, once stale."""

    def __init__(self, lake: Location) -> None:
        self.lake = lake
        self.committed = {
            day: {f.name.removesuffix(".parquet") for f in files} for day, files in partitions(lake, RUNS).items()
        }
        self.intents = {path.parent.name for path in pending_intents(lake)}
        self.locked: dict[str, set[str]] = {}
        self.cutoff = time.time() - STALE_SECONDS

    def of(self, table: Table, relative: str) -> bool:
        folder, _, name = relative.rpartition("/")
        day = folder.removeprefix(f"{delta.PARTITION}=")
        if COMPACTED_FILE.match(name):  # a compaction takes seconds: one this old crashed
            try:
                return (self.lake / table.name / relative).stat().st_mtime < self.cutoff
            except FileNotFoundError:
                return False
        match = RUN_FILE.match(name)
        if not match:
            return False  # not written by a run: not ours to delete
        run_id = match["run_id"]
        if day not in self.locked:
            self.locked[day] = {lock.run_id for lock in locks.locks(self.lake, day)}
        if run_id in self.committed.get(day, set()):
            return True
        return (
            run_id not in self.intents
            and run_id not in self.locked[day]
            and run_started(run_id).timestamp() < self.cutoff
        )

"""Converting a lake of release 0.1 (before Delta Lake) in place: `news-etl migrate`, or the first run.

A 0.1 lake holds the same files as today's, named the same way, but no Delta log: its runs rows
(LAKE/runs/date=D/<run_id>.parquet, without the `files` column) alone said which run of a date is current
(the newest). The migration registers what that layout showed and nothing more, in an order that lets a
migration stopped anywhere finish when run again (each step looks first at what is already done):

1. every date's lock, so no run commits meanwhile (locks.py);
2. each date's rollups written from its entities (rollups.py; 0.1 had none); then each data table: the current
   runs' files rewritten in place where their schema is not the declared one
   (signatures: uint32 became int64, as Delta Lake has no unsigned types), then the Delta table created with
   every date's current files in one commit (a table already there is corrected date by date);
3. every runs row rewritten with its `files` column;
4. the files and plans of superseded runs deleted: no Delta version lists them, so no vacuum would ever
   remove them, and 0.1 kept them only for queries already running against its views;
5. the runs table created, all runs rows at once: from then on the lake is in today's layout.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import delta, locks, rollups
from pipeline.delta import DataFile
from pipeline.errors import DateBusy, UserError
from pipeline.extract.entities import ENTITIES
from pipeline.lake import COMMIT_FILE, RUN_ID, RUNS, commit_lock, run_dir, runs_row_path
from pipeline.registry import run_tables
from pipeline.storage import Location, remove_tree
from pipeline.tables import DamagedFile, Table, arrow_target, read_parquet, run_files, write_atomic
from pipeline.verify import quarantine

log = logging.getLogger(__name__)


@dataclass
class Migrated:
    """What a migration did."""

    runs: dict[str, list[str]]  # committed run ids by date, oldest first: the last one is current
    files: dict[str, int] = field(default_factory=dict)  # files registered, by table
    rewritten: dict[str, int] = field(default_factory=dict)  # files rewritten to the declared schema, by table
    removed: int = 0  # files of superseded runs deleted
    damaged: list[str] = field(default_factory=list)  # unreadable current files, moved aside (verify.py)


def old_runs(lake: Location) -> dict[str, list[str]]:
    """The runs rows of a lake without a runs Delta table, by date, oldest first."""
    found: dict[str, list[str]] = {}
    for day, run_id in old_run_rows(lake):
        found.setdefault(day, []).append(run_id)
    return found


def old_run_rows(lake: Location) -> Iterator[tuple[str, str]]:
    """(date, run id) of each runs row, in order. A row with a commit intent beside it is a commit of today's
    layout under way (the lake's first), not a 0.1 run."""
    folder = lake / RUNS.name
    for path in sorted(folder.glob("date=*/*.parquet"), key=str) if folder.is_dir() else []:
        run_id = path.name.removesuffix(".parquet")
        if RUN_ID.match(run_id) and not (run_dir(lake, run_id) / COMMIT_FILE).exists():
            yield path.parent.name.removeprefix("date="), run_id


def old_layout(lake: Location) -> bool:
    return delta.open_table(lake, RUNS) is None and any(old_run_rows(lake))


def refuse_old_layout(lake: Location) -> None:
    """For readers, which must not write to the lake: a 0.1 lake is an error telling what to do."""
    if old_layout(lake):
        raise UserError(
            f"lake {lake} is in the layout of release 0.1 (before Delta Lake): "
            "run `news-etl migrate` once to convert it in place"
        )


def migrate(lake: Location, owner: str = locks.CLI_OWNER, stale_seconds: float = 1800) -> Migrated | None:
    """Convert a 0.1 lake in place (see the module's docstring); None if it is not one."""
    if not old_layout(lake):
        return None
    with every_date_locked(lake, list(old_runs(lake)), owner, stale_seconds) as beat:
        if delta.open_table(lake, RUNS) is not None:  # another migration finished before we took the locks
            return None
        done = Migrated(old_runs(lake))
        log.warning("converting lake %s from release 0.1's layout to Delta Lake tables", lake)
        current = {day: ids[-1] for day, ids in done.runs.items()}
        for day, run_id in current.items():
            write_rollups(lake, day, run_id)
            beat()
        for table in run_tables():
            files: dict[str, list[DataFile]] = {}
            for day, run_id in current.items():
                files[day] = current_files(lake, table, day, run_id, done)
                beat()
            with commit_lock(lake):
                register_all(lake, table, files)
            done.files[table.name] = sum(map(len, files.values()))
        for day, ids in done.runs.items():
            for run_id in ids:
                record_files(lake, day, run_id)
            beat()
        for day, ids in done.runs.items():
            for run_id in ids[:-1]:
                done.removed += remove_run(lake, day, run_id)
            beat()
        rows = {
            day: [DataFile.of(lake / RUNS.name, runs_row_path(lake, day, r), 1) for r in ids]
            for day, ids in done.runs.items()
        }
        with commit_lock(lake):
            delta.create(lake, RUNS, rows)
    log.warning("lake %s converted: %d dates, %d runs", lake, len(done.runs), sum(map(len, done.runs.values())))
    return done


@contextlib.contextmanager
def every_date_locked(
    lake: Location, days: list[str], owner: str, stale_seconds: float
) -> Iterator[Callable[[], None]]:
    """Hold the lock of these dates and of every date with a lock; yields a heartbeat for them all, cheap to
    call often. Locks of dead runs are taken over, their files left to the clean-up of the date's next commit
    (lake.collect_garbage): a run that never committed is not the migration's business."""
    holder = f"migration-{secrets.token_hex(3)}"
    lock_root = lake / locks.LOCKS_DIR
    locked = {p.name.removeprefix("date=") for p in lock_root.glob("date=*")} if lock_root.is_dir() else set()
    taken: list[str] = []
    last_beat = time.monotonic()

    def beat() -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat >= locks.BEAT_SECONDS:  # one write per lock a minute at most
            last_beat = time.monotonic()
            for day in taken:
                locks.heartbeat(lake, day, holder)

    try:
        for day in sorted(set(days) | locked):
            try:
                locks.acquire(lake, day, holder, owner, stale_seconds)
            except DateBusy as busy:
                raise DateBusy(f"cannot convert the lake now: {busy}") from None
            taken.append(day)
        yield beat
    finally:
        for day in taken:
            locks.release(lake, day, holder)


def current_files(lake: Location, table: Table, day: str, run_id: str, done: Migrated) -> list[DataFile]:
    """The current run's files of a table and date, each in the declared schema (rewritten in place if not)."""
    found = []
    for path in run_files(lake, table, day, run_id):
        try:
            schema, rows = file_schema(path)
            if not schema.equals(table.schema):  # the declared types are safe casts of 0.1's
                write_atomic(read_parquet(path, schema=table.schema), path)
                done.rewritten[table.name] = done.rewritten.get(table.name, 0) + 1
        except DamagedFile as damaged:  # the date keeps its other files; its next run analyses it all again
            done.damaged.append(str(quarantine(lake, damaged)))
            continue
        found.append(DataFile.of(lake / table.name, path, rows))
    return found


def write_rollups(lake: Location, day: str, run_id: str) -> None:
    """0.1 had no rollups (the entity marts sum them): the current run's, written beside its files, so that the
    tables are created with them and its runs row lists them (an attempt stopped after one is not redone)."""
    missing = [t for t in rollups.ROLLUPS if not run_files(lake, t, day, run_id)]
    if missing:
        entities = run_files(lake, ENTITIES, day, run_id)
        rollups.write_rollups(lake, missing, day, run_id, rollups.run_shards(lake, day, run_id), entities)


def file_schema(path: Location) -> tuple[pa.Schema, int]:
    """A Parquet file's schema and row count, from its footer alone."""
    target = arrow_target(path)
    try:
        metadata = pq.read_metadata(target.pop("where"), **target)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise DamagedFile(path, error) from None
    return metadata.schema.to_arrow_schema(), metadata.num_rows


def register_all(lake: Location, table: Table, files: dict[str, list[DataFile]]) -> None:
    """The table's Delta partitions made exactly these files: created in one commit, or, for a table an
    earlier attempt created, each date that differs replaced."""
    registered = delta.open_table(lake, table)
    if registered is None:
        delta.create(lake, table, files)
        return
    partitions = delta.partitions(registered)
    for day, day_files in sorted(files.items()):
        if {f.path for f in partitions.get(day, [])} != {f.path for f in day_files}:
            delta.register(lake, table, day, day_files, replace=True)


def record_files(lake: Location, day: str, run_id: str) -> None:
    """Rewrite a 0.1 runs row in the declared schema, its `files` column listing the run's files still there
    (a row that has the column already was done by an earlier attempt)."""
    path = runs_row_path(lake, day, run_id)
    row = read_parquet(path)
    if "files" in row.column_names:
        return
    files = [f"{t.name}/{p.parent.name}/{p.name}" for t in run_tables() for p in run_files(lake, t, day, run_id)]
    row = row.append_column("files", pa.array([files], pa.list_(pa.string())))
    write_atomic(row.select(RUNS.schema.names).cast(RUNS.schema), path)


def remove_run(lake: Location, day: str, run_id: str) -> int:
    """Delete a superseded run's data files and plan; returns how many data files there were."""
    removed = 0
    for table in run_tables():
        for path in run_files(lake, table, day, run_id):
            path.unlink(missing_ok=True)
            removed += 1
    remove_tree(run_dir(lake, run_id))
    return removed

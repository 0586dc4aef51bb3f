"""Integrity of the lake: every file of every current run read whole, page checksums verified.

A damaged file (truncated, a flipped bit) is reported by name and moved aside to LAKE/_damaged/, where no
view reads it, so the views of every other date keep working; one rerun of its date repairs the date (the
rerun analyses every file again: rows are never carried over from a damaged run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pipeline.lake import RUNS, committed_runs
from pipeline.registry import run_tables
from pipeline.storage import Location, staged
from pipeline.tables import DamagedFile, Table, partition_dir, read_parquet, run_files

log = logging.getLogger(__name__)
DAMAGED_DIR = "_damaged"


def damaged_files(lake: Location, day: str, run_id: str, tables: Iterable[Table]) -> list[DamagedFile]:
    found = []
    for table in tables:
        for path in run_files(lake, table, day, run_id):
            try:
                read_parquet(path, schema=table.schema)
            except DamagedFile as damaged:
                found.append(damaged)
    return found


def quarantine(lake: Location, damaged: DamagedFile) -> Location:
    """Move a damaged file out of its table's folder (kept for inspection); returns where it went."""
    relative = damaged.path.relative_to(lake)
    target = staged(lake / DAMAGED_DIR / relative)  # makes the folder locally; the path itself on a store
    target = target.with_name(target.name.removeprefix(".").removesuffix(".tmp"))
    damaged.path.rename(target)
    log.warning("damaged lake file %s moved to %s", damaged, target)
    return target


def committed_dates(lake: Location) -> list[str]:
    folder = lake / RUNS.name
    return sorted(p.name.removeprefix("date=") for p in folder.glob("date=*")) if folder.is_dir() else []


def verify(lake: Location, days: list[str] | None = None) -> dict[str, list[DamagedFile]]:
    """Damaged files of the current run of each date (all committed dates by default), moved aside."""
    report = {}
    for day in days or committed_dates(lake):
        runs = committed_runs(lake, day)
        if not runs:
            continue
        damaged = damaged_files(lake, day, runs[-1], run_tables())
        runs_file = partition_dir(lake, RUNS.name, day) / f"{runs[-1]}.parquet"
        try:
            read_parquet(runs_file)
        except DamagedFile as error:
            damaged.append(error)
        for item in damaged:
            quarantine(lake, item)
        report[day] = damaged
    return report

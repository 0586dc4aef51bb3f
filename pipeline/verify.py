"""Integrity of the lake: every file of every current run read whole, page checksums verified.

A damaged file (truncated, a flipped bit) is reported by name, moved aside to LAKE/_damaged/ and taken out of
its Delta table, so no view and no Delta reader meets it and the views of every other date keep working; one
rerun of its date repairs the date (the rerun analyses every file again: rows are never carried over from a
damaged run).
"""

from __future__ import annotations

import logging

from pipeline import delta
from pipeline.lake import RUNS, commit_lock, current_files, current_runs, lake_paths, runs_row_path
from pipeline.registry import run_tables, table
from pipeline.storage import Location, staged
from pipeline.tables import DamagedFile, Table, read_parquet

log = logging.getLogger(__name__)
DAMAGED_DIR = "_damaged"


def damaged_files(table: Table, paths: list[Location]) -> list[DamagedFile]:
    found = []
    for path in paths:
        try:
            read_parquet(path, schema=table.schema)
        except DamagedFile as damaged:
            found.append(damaged)
    return found


def quarantine(lake: Location, damaged: DamagedFile) -> Location:
    """Move a damaged file out of its table (kept for inspection); returns where it went."""
    relative = damaged.path.relative_to(lake)
    name, partition = relative.parts[0], relative.parts[1]
    day = partition.removeprefix(f"{delta.PARTITION}=")
    target = staged(lake / DAMAGED_DIR / relative)  # makes the folder locally; the path itself on a store
    target = target.with_name(target.name.removeprefix(".").removesuffix(".tmp"))
    damaged.path.rename(target)
    with commit_lock(lake):
        files = delta.partitions(delta.open_table(lake, table(name))).get(day, [])
        kept = [f for f in files if f.name != damaged.path.name]
        if len(kept) < len(files):
            delta.register(lake, table(name), day, kept, replace=True)
    log.warning("damaged lake file %s moved to %s", damaged, target)
    return target


def verify(lake: Location, days: list[str] | None = None) -> dict[str, list[DamagedFile]]:
    """Damaged files of the current run of each date (all committed dates by default), moved aside."""
    runs = current_runs(lake)
    report = {}
    for day in days or sorted(runs):
        if day not in runs:
            continue
        damaged = []
        for t in run_tables():
            damaged += damaged_files(t, lake_paths(lake, t, current_files(lake, t, {day: runs[day]})[day]))
        damaged += damaged_files(RUNS, [runs_row_path(lake, day, runs[day])])
        for item in damaged:
            quarantine(lake, item)
        report[day] = damaged
    return report

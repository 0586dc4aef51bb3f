"""What each committed date holds: its current run's row of the runs table (for `news-etl status`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from pipeline.lake import RUNS, current_runs, runs_row_path
from pipeline.storage import Location
from pipeline.tables import read_files

COLUMNS = (
    "date",
    "run_id",
    "finished_at",
    "files_seen",
    "documents",
    "duplicates",
    "rejects",
    "model",
    "pipeline_version",
)


def status_rows(lake: Location, since: date | None, until: date | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One row per committed date in [since, until], oldest first: its current run's figures."""
    runs = {
        day: run_id
        for day, run_id in current_runs(lake).items()
        if (since is None or day >= since.isoformat()) and (until is None or day <= until.isoformat())
    }
    paths = [runs_row_path(lake, day, run_id) for day, run_id in sorted(runs.items())]
    table = read_files(RUNS, paths, [c for c in COLUMNS if c != "date"])
    table = table.add_column(0, "date", pa.array(sorted(runs), pa.string()))
    return list(COLUMNS), [tuple(row.values()) for row in table.to_pylist()]

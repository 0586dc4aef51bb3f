"""A fingerprint of what a lake's current run of a date holds, table by table, to show that a refactor changed no row.

    .venv/bin/python benchmarks/lake_digest.py LAKE DATE > before.txt   # on the old code
    .venv/bin/python benchmarks/lake_digest.py LAKE DATE > after.txt    # on the new code, same landing folder
    diff before.txt after.txt

Each line: table, row count, sha256 of its rows sorted, with the columns that name a run or a version (run_id,
pipeline_version, timestamps) left out. Reads the Parquet files of the newest committed run directly, so it works
on any lake layout that keeps them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

VOLATILE = {"run_id", "pipeline_version", "started_at", "finished_at", "peak_rss_mb"}


def current_run(lake: Path, day: str) -> str:
    runs = [pq.read_table(p).to_pylist()[0] for p in (lake / "runs" / f"date={day}").glob("*.parquet")]
    return max(r["run_id"] for r in runs)


def digest(lake: Path, day: str) -> list[tuple[str, int, str]]:
    run_id = current_run(lake, day)
    lines = []
    for folder in sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        files = sorted((folder / f"date={day}").glob(f"{run_id}*.parquet"))
        rows = [
            json.dumps({k: v for k, v in row.items() if k not in VOLATILE}, sort_keys=True, default=str)
            for f in files
            for row in pq.read_table(f).to_pylist()
        ]
        lines.append((folder.name, len(rows), hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()[:16]))
    return lines


if __name__ == "__main__":
    for table, n, h in digest(Path(sys.argv[1]), sys.argv[2]):
        print(f"{table:16} {n:9} {h}")

"""The nightly DAG on two Celery workers against `news-etl run --workers 2`, same files, one run, side by side.

    .venv/bin/python benchmarks/bench_scale.py --corpus ../shared/corpora/bbc [--limit N] [--files-per-shard 300]

Runs `scripts/scale_demo.sh` (PostgreSQL, Redis, scheduler, dag-processor, api-server, two Celery workers with
one task slot each) over the corpus laid out as one date, then the CLI with two worker processes over the same
folder, and prints: wall time and documents per second of each, the extract tasks' own durations (so the
cost of a task's start and model load shows), and the fixed stages (plan, commit, refresh_views).
Needs root, like `make scale-demo`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from corpus import DEFAULT_CORPUS, corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = "2026-11-24"


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--files-per-shard", type=int, default=300)
    args = parser.parse_args()
    files = corpus_files(args.corpus, args.limit)
    work = Path(tempfile.mkdtemp(prefix="news-bench-scale-"))
    try:
        lay_out(files, args.corpus, work / "raw" / DAY)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_", "SCALE_"))}
        env = {**base, "NEWS_RAW_ROOT": str(work / "raw"), "NEWS_FILES_PER_SHARD": str(args.files_per_shard)}

        celery_env = {**env, "NEWS_DATA_ROOT": str(work / "celery"), "SCALE_DATE": DAY}
        celery_env |= {"SCALE_WORKER_CONCURRENCY": "1", "SCALE_TIMEOUT": "3600"}
        log = work / "scale_demo.log"
        with log.open("wb") as out:
            status = subprocess.run(["bash", str(REPO / "scripts" / "scale_demo.sh")], env=celery_env, stdout=out)
        if status.returncode != 0:
            sys.exit(f"scale_demo.sh failed:\n{log.read_text()[-3000:]}")
        tis = json.loads((work / "celery" / "cluster" / "task-instances.json").read_text())

        start = time.perf_counter()
        cli = [str(BIN / "news-etl"), "run", "--date", DAY, "--workers", "2", "--no-views"]
        subprocess.run(cli, env={**env, "NEWS_DATA_ROOT": str(work / "cli")}, check=True, capture_output=True)
        cli_seconds = time.perf_counter() - start

        dag_seconds = seconds_between(min(t["start_date"] for t in tis), max(t["end_date"] for t in tis))
        extract = [t for t in tis if t["task_id"] == "extract"]
        hosts = sorted({t["hostname"] for t in extract})
        n = len(files)
        print(f"{n} files of {args.corpus}; {len(extract)} shards of up to {args.files_per_shard}; hosts {hosts}")
        print(f"{'':44} {'seconds':>8} {'docs/s':>8}")
        print(f"{'DAG on 2 Celery workers (first task to last)':44} {dag_seconds:8.1f} {n / dag_seconds:8.1f}")
        print(f"{'news-etl run --workers 2':44} {cli_seconds:8.1f} {n / cli_seconds:8.1f}")
        print(f"{'ratio (Celery / CLI time)':44} {dag_seconds / cli_seconds:8.2f}")
        durations = [t["duration"] for t in extract]
        print(
            f"extract tasks: median {statistics.median(durations):.1f} s, "
            f"{n / sum(durations):.1f} docs/s per worker process counting each task's start and model load"
        )
        fixed = {t["task_id"]: t["duration"] for t in tis if t["task_id"] != "extract"}
        print("fixed stages (s): " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in fixed.items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

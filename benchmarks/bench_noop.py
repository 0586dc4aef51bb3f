"""A no-op rerun against its first run: the first N Reuters-21578 files laid out as one date, then
`news-etl run` on it again and again (nothing changed); wall clock of each whole command.

    .venv/bin/python benchmarks/bench_noop.py --work /tmp/noop --limit 3000 --reruns 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from corpus import corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
NEWS_ETL = Path(sys.executable).parent / "news-etl"
DAY = date(2026, 11, 24)


def run(work: Path) -> float:
    start = time.perf_counter()
    args = ["run", "--date", DAY.isoformat(), "--data-root", str(work), "--no-views", "--workers", "1"]
    out = subprocess.run([str(NEWS_ETL), *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"news-etl failed:\n{out.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "reuters21578")
    parser.add_argument("--work", type=Path, required=True, help="a new folder (data root) for the date's lake")
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    if args.work.exists():
        sys.exit(f"{args.work} exists: give a new folder, the first run must analyse every file")
    lay_out(corpus_files(args.corpus, args.limit), args.corpus, args.work / "raw" / DAY.isoformat())
    first = run(args.work)
    reruns = [run(args.work) for _ in range(args.reruns)]
    print(f"first run {first:.1f} s; reruns {', '.join(f'{s:.1f}' for s in reruns)} s")
    print(f"rerun / first: median {statistics.median(reruns) / first:.1%} (max {max(reruns) / first:.1%})")


if __name__ == "__main__":
    main()

"""The worker's memory over a long run: resident memory (current, not the peak) after each shard, one process.

    .venv/bin/python benchmarks/bench_memory.py [--corpus ../shared/corpora/reuters21578] [--limit 4400]
        [--files-per-shard 200] [--trace]

Plans one date of the corpus's first --limit files in shards of --files-per-shard, then processes the shards one
after another in this process, as `news-etl run --workers 1` does, printing after each: current RSS (from
/proc/self/statm), the shard's own peak (what its receipt reports) and the peak since the process started
(ru_maxrss: what receipts reported before, a high-water mark that only rises), and with --trace the Python
allocations that grew most since the first shard (tracemalloc; slows the run).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from corpus import corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 24)


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpora/reuters21578")
    parser.add_argument("--limit", type=int, default=4400)
    parser.add_argument("--files-per-shard", type=int, default=200)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from pipeline.config import Settings
    from pipeline.locks import release
    from pipeline.run import peak_rss_mb, plan_run, process_shard

    files = corpus_files(args.corpus, args.limit)
    with tempfile.TemporaryDirectory(prefix="news-etl-memory-") as tmp:
        work = Path(tmp)
        lay_out(files, args.corpus, work / "raw" / DAY.isoformat())
        settings = Settings.from_env(env={}, data_root=work, files_per_shard=args.files_per_shard)
        plan = plan_run(settings, DAY)
        print(f"{len(files)} files in {plan['n_fresh']} shards; after each shard:", flush=True)
        print(f"{'shard':>5} {'seconds':>8} {'RSS MB':>8} {'shard peak MB':>14} {'peak since start MB':>20}")
        first = None
        for shard in range(plan["n_fresh"]):
            start = time.perf_counter()
            process_shard(settings, plan["run_id"], shard)
            gc.collect()
            peak = peak_rss_mb()  # the shard's own peak (process_shard resets it), as its receipt says
            since_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            seconds = time.perf_counter() - start
            print(f"{shard:5d} {seconds:8.1f} {rss_mb():8.0f} {peak:14.0f} {since_start:20.0f}", flush=True)
            if args.trace:
                if first is None:
                    tracemalloc.start(10)
                    first = tracemalloc.take_snapshot()
                else:
                    for stat in tracemalloc.take_snapshot().compare_to(first, "traceback")[:3]:
                        print(f"      +{stat.size_diff / 2**20:.1f} MB {stat.traceback.format()[-1].strip()}")
        release(settings.lake, DAY.isoformat(), plan["run_id"])


if __name__ == "__main__":
    main()

"""How fast the pages answer, on a lake made from the Reuters corpus by the real pipeline.

    .venv/bin/python benchmarks/bench_pages.py [--corpus ../shared/corpora/reuters21578] [--files 3000]
        [--dates 10] [--root DIR] [--repeats 5]

1. The first --files stories (in name order) are dealt over --dates dates (2026-10-01 on), each date run by
   `run_partition` (spaCy, the real extraction), then the views and the search index are built. With --root
   a lake built before is reused.
2. `news-etl serve` runs on it; each page is requested over HTTP with parameters it has not seen (cold: the
   queries and the charts computed, "the baseline": what every load would cost without the cache) and again
   (warm: answered from the cache, which lasts until the next commit rebuilds the database).
Prints medians and the cold/warm ratio per page, and the first request after start (imports, the chart
engine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pipeline.config import Settings  # noqa: E402

FIRST_DAY = date(2026, 10, 1)
WORDS = ["oil", "trade", "bank", "dollar", "wheat", "gold", "opec", "japan", "profit", "coffee", "tax", "sugar"]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "reuters21578"


def build(settings: Settings, corpus: Path, files: int, dates: int) -> None:
    from pipeline.run import run_partition
    from pipeline.search import update_index
    from pipeline.views import build_database

    stories = sorted(p for p in corpus.glob("*.txt") if p.name[0].isdigit())[:files]
    if not stories:
        sys.exit(f"no corpus at {corpus}: give --corpus (the shared corpora are read at run time)")
    for i, path in enumerate(stories):
        day = FIRST_DAY + timedelta(days=i % dates)
        target = Path(settings.raw_root) / day.isoformat() / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    started = time.monotonic()
    for n in range(dates):
        run_partition(settings, FIRST_DAY + timedelta(days=n))
    build_database(settings.lake, settings.db)
    update_index(settings)
    print(f"lake built: {len(stories)} stories over {dates} dates in {time.monotonic() - started:.0f} s")


def timed(url: str) -> float:
    started = time.perf_counter()
    reply = requests.get(url, timeout=120)
    seconds = time.perf_counter() - started
    if reply.status_code != 200:
        sys.exit(f"{url}: {reply.status_code} {reply.text[:300]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--dates", type=int, default=10)
    parser.add_argument("--root", type=Path, help="data root to build in, or reuse (default: a temporary folder)")
    parser.add_argument("--repeats", type=int, default=5, help="cold requests per page (distinct parameters)")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-pages-"))
    settings = Settings.from_env(env={}, data_root=root, raw_root=root / "raw")
    if not settings.db.is_file():
        build(settings, args.corpus, args.files, args.dates)
    else:
        print(f"reusing the lake in {root}")

    import duckdb

    with duckdb.connect(str(settings.db), read_only=True) as con:
        documents = con.execute("select count(*) from documents where not is_duplicate").fetchone()[0]
        sql = "select doc_id from quotes group by doc_id order by count(*) desc, doc_id limit 20"
        doc_ids = [row[0] for row in con.execute(sql).fetchall()]
        last = con.execute("select max(date) from current_runs").fetchone()[0]
    print(f"{documents} documents; pages over http, {args.repeats} distinct requests each (cold), then again (warm)")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [REPO / ".venv" / "bin" / "news-etl", "serve", "--port", str(port), "--data-root", str(root)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                requests.get(f"{base}/report?date=2000-01-01", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        time.sleep(5)  # the server loads the chart engine in the background as it starts
        first = timed(f"{base}/news?q=first")
        days = [last - timedelta(days=n % args.dates) for n in range(args.repeats)]
        pages = {
            "run report": [f"{base}/report?date={d}" for d in days],
            "news, 1 query": [f"{base}/news?q={w}" for w in WORDS[: args.repeats]],
            # three queries no other request asked (a word's prefix, title and negation forms)
            "news, 3 queries": [f"{base}/news?q={w}*&q=title:{w}&q={w}+AND+-oil" for w in WORDS[5 : 5 + args.repeats]],
            "document": [f"{base}/document/{d}" for d in doc_ids[: args.repeats]],
        }
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows all)")
        print(f"first request, 5 s after start (the search index opened, the first chart): {first:.2f} s")
        print(f"{'page':<18}{'cold median':>14}{'cold max':>11}{'warm median':>14}{'cold/warm':>11}")
        for name, urls in pages.items():
            cold = [timed(u) for u in urls]
            warm = [timed(u) for u in urls for _ in range(3)]
            c, w = statistics.median(cold), statistics.median(warm)
            print(f"{name:<18}{c:>12.3f} s{max(cold):>9.3f} s{w:>12.3f} s{c / w:>10.0f}x")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()

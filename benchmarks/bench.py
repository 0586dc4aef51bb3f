"""news-etl against its cost floor, bare spaCy, in one run: figures side by side, ratios and medians.

    make bench                                    # Reuters-21578, then BBC
    .venv/bin/python benchmarks/bench.py --corpus ../shared/corpora/bbc [--limit 500] [--views-rows 1000000]

Phases (each in its own process, so memory figures are per process):
  1. bare spaCy: nlp.pipe over the texts, full default pipeline, one process (the ceiling);
  2. bare spaCy with the components news-etl excludes left out (what excluding them is worth);
  3. news-etl run --workers 1, every table written; 4. --workers 2 --force; 5. a rerun of the unchanged date;
  6. DuckDB: the lake replicated under many dates to about --views-rows entity rows, each view queried.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from corpus import corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = date(2026, 11, 24)

BARE = """
import json, resource, sys, time
from pathlib import Path
import spacy
exclude = json.loads(sys.argv[3])
nlp = spacy.load(sys.argv[1], exclude=exclude)
texts = [Path(p).read_bytes().decode("utf-8", "replace") for p in Path(sys.argv[2]).read_text().splitlines()]
start = time.perf_counter()
words = sum(len(doc) for doc in nlp.pipe(texts))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"seconds": seconds, "docs": len(texts), "tokens": words, "peak_rss_mb": peak}))
"""


def bare(model: str, files: list[Path], exclude: list[str], work: Path) -> dict:
    listing = work / "files.txt"
    listing.write_text("\n".join(map(str, files)))
    out = subprocess.run(
        [sys.executable, "-c", BARE, model, str(listing), json.dumps(exclude)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def news_etl(work: Path, *args: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "news-etl"), "run", "--date", DAY.isoformat(), "--data-root", str(work), "--no-views", *args],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"news-etl failed:\n{out.stderr[-3000:]}")
    peaks = [int(m) for m in re.findall(r"peak memory (\d+) MB", out.stderr)]
    return {"seconds": seconds, "peak_rss_mb": peaks, "summary": out.stdout.strip().splitlines()[0]}


def replicate_lake(work: Path, target_entity_rows: int) -> int:
    """Copy the date's committed run under more dates until the entities reach the target (replicate.py: each
    copy a run, committed to every table's Delta log); returns the number of dates."""
    from replicate import replicate

    from pipeline.extract.entities import ENTITIES
    from pipeline.lake import current_files, current_runs
    from pipeline.storage import location

    lake = location(work / "lake")
    runs = current_runs(lake)
    per_day = sum(f.rows for f in current_files(lake, ENTITIES, runs)[DAY.isoformat()])
    copies = max(1, -(-target_entity_rows // max(per_day, 1)))
    replicate(lake, DAY.isoformat(), [DAY + timedelta(days=k) for k in range(1, copies)])
    return copies


def time_views(work: Path, repeats: int) -> tuple[int, dict[str, float]]:
    import duckdb

    subprocess.run([str(BIN / "news-etl"), "views", "--data-root", str(work)], check=True, capture_output=True)
    timings = {}
    with duckdb.connect(str(work / "news.duckdb"), read_only=True) as con:
        entity_rows = con.execute("select count(*) from entities").fetchone()[0]
        views = [
            r[0] for r in con.execute("select view_name from duckdb_views() where not internal order by 1").fetchall()
        ]
        for view in views:
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                con.execute(f'select count(*) from (select * from "{view}")').fetchall()
                runs.append(time.perf_counter() - start)
            timings[view] = statistics.median(runs)
    return entity_rows, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, action="append", help="corpus folder (repeatable)")
    parser.add_argument("--limit", type=int, help="first N files only (quick runs)")
    parser.add_argument("--views-rows", type=int, default=1_000_000, help="entity rows for the view timings")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per view query (median reported)")
    args = parser.parse_args()
    corpora = args.corpus or [REPO.parent / "shared/corpora/bbc", REPO.parent / "shared/corpora/reuters21578"]

    sys.path.insert(0, str(REPO))
    from pipeline.config import DEFAULT_EXCLUDE, Settings

    settings = Settings.from_env(env={})
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"model: {settings.model}; news-etl excludes {', '.join(DEFAULT_EXCLUDE)}")
    for corpus in corpora:
        if not corpus.is_dir():
            print(f"\n{corpus}: not found, skipped")
            continue
        files = corpus_files(corpus, args.limit)
        with tempfile.TemporaryDirectory(prefix="news-etl-bench-") as tmp:
            work = Path(tmp)
            lay_out(files, corpus, work / "raw" / DAY.isoformat())
            n = len(files)
            print(f"\n== {corpus.name}: {n} files", flush=True)
            print(f"{'phase':44} {'seconds':>9} {'docs/s':>8}  ratio", flush=True)
            full = bare(settings.model, files, [], work)
            row("bare spaCy, full pipeline (ceiling)", full["seconds"], n, "1.00")
            trimmed = bare(settings.model, files, list(DEFAULT_EXCLUDE), work)
            row(
                "bare spaCy, news-etl exclusions", trimmed["seconds"], n, f"{full['seconds'] / trimmed['seconds']:.2f}x"
            )
            one = news_etl(work, "--workers", "1")
            row(
                "news-etl run --workers 1 (all tables)",
                one["seconds"],
                n,
                f"{full['seconds'] / one['seconds']:.2f}x the ceiling "
                f"({trimmed['seconds'] / one['seconds']:.2f}x bare with the same exclusions)",
            )
            two = news_etl(work, "--workers", "2", "--force")
            row(
                "news-etl run --workers 2 --force", two["seconds"], n, f"{one['seconds'] / two['seconds']:.2f}x speedup"
            )
            rerun = news_etl(work, "--workers", "1")
            row(
                "rerun of the unchanged date",
                rerun["seconds"],
                n,
                f"{100 * rerun['seconds'] / one['seconds']:.1f}% of first",
            )
            print(f"{full['tokens']:,} tokens; {one['summary']}", flush=True)
            print(
                f"peak RSS (MB): bare full {full['peak_rss_mb']}, bare trimmed {trimmed['peak_rss_mb']}, "
                f"--workers 1 {one['peak_rss_mb']}, --workers 2 {two['peak_rss_mb']}",
                flush=True,
            )
            copies = replicate_lake(work, args.views_rows)
            entity_rows, views = time_views(work, args.repeats)
            print(f"DuckDB views over {entity_rows:,} entity rows ({copies} dates), median of {args.repeats}:")
            for view, seconds in views.items():
                print(f"  {view:32} {seconds * 1000:8.1f} ms", flush=True)


def row(phase: str, seconds: float, n: int, ratio: str) -> None:
    print(f"{phase:44} {seconds:9.1f} {n / seconds:8.1f}  {ratio}", flush=True)


if __name__ == "__main__":
    main()

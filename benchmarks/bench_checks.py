"""What the data checks cost against the run they check: a date of BBC files run through news-etl, then every
check of sql/checks/ on it, timed apart; prints the ratio (target: under 5 %).

    .venv/bin/python benchmarks/bench_checks.py                       # all of BBC as one date
    .venv/bin/python benchmarks/bench_checks.py --dates 8             # BBC dealt over 8 dates: the last one has
                                                                      # 7 dates of history to be compared with
    .venv/bin/python benchmarks/bench_checks.py --corpus DIR --limit 500 --workers 2

In one process, as `news-etl run` does it: run_partition (plan, shards, commit) and then run_checks, each timed
for every date; then, for the last date, each check alone (after the in-memory views are built once), so the
breakdown shows which check costs what. The corpus is read in place and copied to a temporary landing folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from corpus import DEFAULT_CORPUS, corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.checks import evaluate, load_checks, run_checks, session, template_values  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.run import run_partition  # noqa: E402

LAST = date(2026, 11, 24)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, help="only the first N files of the corpus")
    parser.add_argument("--dates", type=int, default=1, help="deal the files over this many dates (default 1)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    files = corpus_files(args.corpus, args.limit)
    days = [LAST - timedelta(days=args.dates - 1 - i) for i in range(args.dates)]
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as work:
        root = Path(work)
        for i, day in enumerate(days):
            lay_out(files[i :: args.dates], args.corpus, root / "raw" / day.isoformat())
        settings = Settings.from_env(env={}, data_root=root)
        rows = []
        for day in days:
            start = time.perf_counter()
            run = run_partition(settings, day, workers=args.workers)
            ran = time.perf_counter() - start
            outcome = run_checks(settings, day)
            checked = time.perf_counter() - start - ran
            rows.append({"date": day.isoformat(), "files": run["files_seen"], "run_s": ran, "checks_s": checked})
            print(
                f"{day}: {run['files_seen']} files, run {ran:.1f} s, checks {checked:.2f} s = "
                f"{100 * checked / ran:.2f} % of the run; {outcome.line()}",
                flush=True,
            )
        breakdown = each_check(settings, days[-1])
    total_run, total_checks = sum(r["run_s"] for r in rows), sum(r["checks_s"] for r in rows)
    print(f"all dates: run {total_run:.1f} s, checks {total_checks:.2f} s = {100 * total_checks / total_run:.2f} %")
    print("each check on the last date, seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in breakdown.items()))
    print(json.dumps({"dates": rows, "last_date_breakdown_s": breakdown}))
    return 0


def each_check(settings: Settings, day: date) -> dict[str, float]:
    """The session (views built over the lake's files) and then each check alone, timed."""
    start = time.perf_counter()
    with session(settings.lake) as con:
        times = {"(views over the lake)": time.perf_counter() - start}
        dates = con.execute("select date from main.current_runs where date < ? order by date desc", [day])
        earlier = [d for (d,) in dates.fetchall()]
        values = template_values(day, earlier[: settings.checks.history_dates + 1], False, settings.checks)
        for check in load_checks():
            start = time.perf_counter()
            evaluate(con, check, values)
            times[check.name] = time.perf_counter() - start
    return times


if __name__ == "__main__":
    sys.exit(main())

"""A year of partitions: every analysis view (sql/marts) over one week and over the whole year, median of 5.

    .venv/bin/python benchmarks/bench_year.py --data-root DIR [--dates 365] [--marts DIR]

DIR holds a lake with one committed date (e.g. `news-etl run` over 3,000 Reuters files, as the no-op rerun
measurement leaves it: see docs/benchmarks.md). The script copies that date under the next dates until there
are --dates of them (replicate.py: each copy a run committed to every table's Delta log, fresh doc_ids), builds
the views, times `select count(*) from (select * from <mart> where date between ...)` for the first week and for
the whole year (a mart without a date column over everything), and shows with `explain analyze` how many
Parquet files the week's query reads. --marts times the SELECTs of another folder of mart files instead of the
database's views, over the same staging views: e.g. the previous release's sql/marts (`git show`), for a before
and after on one lake.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(con: object, sql: str, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        con.execute(sql).fetchall()  # type: ignore[attr-defined]
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--dates", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], help="marts not to time (entity_cooccurrence: minutes)")
    parser.add_argument("--marts", type=Path, help="a folder of mart .sql files to time instead of the views")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import duckdb
    from replicate import replicate

    from pipeline.extract.entities import ENTITIES
    from pipeline.lake import current_files, current_runs
    from pipeline.storage import location

    lake = location(args.data_root / "lake")
    runs = current_runs(lake)
    first = date.fromisoformat(min(runs))
    days = [first + timedelta(days=k) for k in range(args.dates)]
    missing = [day for day in days if day.isoformat() not in runs]
    start = time.perf_counter()
    if missing:
        replicate(lake, first.isoformat(), missing)
    print(f"replicated {first} under {len(missing)} more dates in {time.perf_counter() - start:.0f} s", flush=True)
    runs = current_runs(lake)
    entities = sum(f.rows for files in current_files(lake, ENTITIES, runs).values() for f in files)
    start = time.perf_counter()
    views = [str(BIN / "news-etl"), "views", "--data-root", str(args.data_root)]
    subprocess.run(views, check=True, capture_output=True)
    print(f"{len(runs)} dates, {entities:,} entity rows; views built in {time.perf_counter() - start:.1f} s")
    week = f"date between date '{first}' and date '{first + timedelta(days=6)}'"
    with duckdb.connect(str(args.data_root / "news.duckdb"), read_only=True) as con:
        folder = args.marts or REPO / "sql" / "marts"
        marts = sorted(p.stem for p in folder.glob("*.sql"))
        dated = {}  # mart -> what to select from, for the explain analyze below
        print(f"{'view':28} {'week (ms)':>10} {'year (ms)':>10}   median of {args.repeats}   {folder}")
        for mart in marts:
            if mart in args.skip:
                print(f"{mart:28} {'skipped':>10}", flush=True)
                continue
            # a view by name, or the file's select as a subquery over the same staging views
            source = f"({(folder / f'{mart}.sql').read_text()})" if args.marts else mart
            has_date = "date" in [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]
            if has_date:
                dated[mart] = source
            week_sql = f"select count(*) from (select * from {source} where {week})"
            shown = f"{timed(con, week_sql, args.repeats) * 1000:10.1f}" if has_date else f"{'(no date)':>10}"
            year_ms = timed(con, f"select count(*) from (select * from {source})", args.repeats) * 1000
            print(f"{mart:28} {shown} {year_ms:10.1f}", flush=True)
        for mart, source in dated.items():
            plan = con.execute(f"explain analyze select count(*) from (select * from {source} where {week})").fetchall()
            text = "\n".join(str(cell) for row in plan for cell in row)
            files = [int(n) for n in re.findall(r"Total Files Read:\s*(\d+)", text)]
            print(f"explain analyze, {mart} for one week: files read per scan {files}")


if __name__ == "__main__":
    main()

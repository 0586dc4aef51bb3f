"""Full-text search against `ilike` over the DuckDB views, on the Reuters corpus and on a 1,000,000-document index.

    .venv/bin/python benchmarks/bench_search.py [--corpus ../shared/corpora/reuters21578] [--analysed 600]
        [--copies 47] [--dates 365] [--repeats 7]

spaCy analyses about 45 Reuters stories a second here, far too slow for a million documents, so:
1. the real pipeline (`run_partition`) analyses the first --analysed files: their entities and quotes are real;
2. every file of the corpus becomes a documents row the way a run makes one (decoded text, title, language,
   exact duplicates per date), without spaCy; the analysed files carry their entity and quote rows along;
3. lake "reuters": the whole corpus once, over 30 dates; lake "1M": the corpus --copies times (each copy its own
   doc_ids), over --dates dates. Each date is a committed run (its own commit in the runs table's Delta log,
   as real runs make), so the freshness check every query makes reads a log as long as a year of runs.
Then for each lake: indexing from scratch on one writer thread (documents per second per core), an
incremental update of one date, and p50/p95 of search (top 20, snippets) and attention (every date) through
pipeline.search, each with its freshness check, beside the same queries as `ilike` over the views.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pipeline import delta  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.extract.document import DOCUMENTS  # noqa: E402
from pipeline.extract.entities import ENTITIES  # noqa: E402
from pipeline.extract.language import detect_language  # noqa: E402
from pipeline.extract.quotes import QUOTES  # noqa: E402
from pipeline.extract.titles import title_of  # noqa: E402
from pipeline.lake import RUNS, new_run_id  # noqa: E402
from pipeline.search import lookup  # noqa: E402
from pipeline.search.index import STATE_FILE, update  # noqa: E402
from pipeline.storage import location  # noqa: E402
from pipeline.tables import DataFile, partition_dir, write_table  # noqa: E402

FIRST_DAY = date(2026, 1, 1)
# (kind, our query, the ilike condition an analyst writes today)
QUERIES = [
    ("word", "oil", "text ilike '%oil%'"),
    ("word", "coffee", "text ilike '%coffee%'"),
    ("phrase", '"interest rates"', "text ilike '%interest rates%'"),
    ("phrase", '"west german"', "text ilike '%west german%'"),
    ("boolean", "oil AND -opec", "text ilike '%oil%' and not text ilike '%opec%'"),
    (
        "boolean",
        "(wheat OR corn) AND export",
        "(text ilike '%wheat%' or text ilike '%corn%') and text ilike '%export%'",
    ),
    ("field", 'entity:"united states"', None),
]


def corpus_rows(corpus: Path) -> list[dict]:
    """Every article of the corpus as the documents row a run would make of it (without spaCy)."""
    rows = []
    for path in sorted(p for p in corpus.glob("*.txt") if p.name[0].isdigit()):
        data = path.read_bytes()
        text = data.decode("utf-8", "replace").removeprefix("\ufeff").replace("\r\n", "\n")
        if not text.strip():
            continue  # the pipeline rejects an empty file
        rows.append(
            {
                "source_path": path.name,
                "title": title_of(text),
                "language": detect_language(text),
                "is_analysed": False,
                "text": text,
                "n_chars": len(text),
                "n_bytes": len(data),
                "content_sha256": hashlib.sha256(data).hexdigest(),
                "encoding": "utf-8",
            }
        )
    return rows


def analysed_rows(corpus: Path, n: int, work: Path) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The real pipeline over the first n files: their documents, entities and quotes rows."""
    from pipeline.lake import current_runs, read_run_table
    from pipeline.run import run_partition

    landing = work / "raw" / FIRST_DAY.isoformat()
    landing.mkdir(parents=True)
    for path in sorted(p for p in corpus.glob("*.txt") if p.name[0].isdigit())[:n]:
        shutil.copyfile(path, landing / path.name)
    settings = Settings.from_env(env={}, data_root=work)
    start = time.perf_counter()
    run_partition(settings, FIRST_DAY)
    print(f"spaCy pipeline over {n} files: {time.perf_counter() - start:.0f} s", flush=True)
    run_id = current_runs(settings.lake)[FIRST_DAY.isoformat()]
    return tuple(read_run_table(settings.lake, t, FIRST_DAY.isoformat(), run_id) for t in (DOCUMENTS, ENTITIES, QUOTES))


def build_lake(lake_dir: Path, rows: list[dict], analysed: tuple, copies: int, n_dates: int) -> int:
    """The corpus `copies` times over n_dates committed dates; returns the documents written."""
    lake = location(str(lake_dir))
    docs0, entities0, quotes0 = analysed
    by_path = dict(zip(docs0["source_path"].to_pylist(), docs0["doc_id"].to_pylist(), strict=True))
    total = len(rows) * copies
    per_day = -(-total // n_dates)
    files: dict[str, dict[str, list[DataFile]]] = {t.name: {} for t in (DOCUMENTS, ENTITIES, QUOTES)}
    for d in range(n_dates):
        day = (FIRST_DAY + timedelta(days=d)).isoformat()
        run_id = new_run_id()
        batch, pairs, first_copy = [], {"from": [], "to": []}, {}
        for i in range(d * per_day, min(total, (d + 1) * per_day)):
            k, row = divmod(i, len(rows))
            row = rows[row]
            source = f"copy{k:02d}/{row['source_path']}"
            doc_id = hashlib.sha256(source.encode()).hexdigest()[:16]
            duplicate_of = first_copy.setdefault(row["content_sha256"], doc_id)
            batch.append(
                row
                | {"doc_id": doc_id, "source_path": source, "run_id": run_id}
                | {"duplicate_of": None if duplicate_of == doc_id else duplicate_of}
            )
            if row["source_path"] in by_path:
                pairs["from"].append(by_path[row["source_path"]])
                pairs["to"].append(doc_id)
        mapping = pa.table(pairs, schema=pa.schema([("from", pa.string()), ("to", pa.string())]))
        tables = {DOCUMENTS.name: pa.Table.from_pylist(batch, schema=DOCUMENTS.schema)}
        for table, rows0 in ((ENTITIES, entities0), (QUOTES, quotes0)):
            joined = rows0.join(mapping, keys="doc_id", right_keys="from", join_type="inner")
            joined = joined.set_column(joined.schema.get_field_index("doc_id"), "doc_id", joined["to"])
            joined = joined.set_column(
                joined.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * len(joined), pa.string())
            )
            tables[table.name] = joined.select(table.schema.names).cast(table.schema)
        written = []
        for table in (DOCUMENTS, ENTITIES, QUOTES):
            path = partition_dir(lake, table.name, day) / f"{run_id}-00000.parquet"
            f = write_table(tables[table.name], table, path, lake)
            files[table.name][day] = [f]
            written.append(f"{table.name}/{f.path}")
        run_row = {
            "run_id": run_id,
            "started_at": None,
            "finished_at": None,
            "files_seen": len(batch),
            "files_ignored": 0,
            "documents": len(batch),
            "duplicates": sum(r["duplicate_of"] is not None for r in batch),
            "rejects": 0,
            "shards": 1,
            "model": "bench",
            "pipeline_version": "bench",
            "files": written,
        }
        runs_file = write_table(
            pa.Table.from_pylist([run_row], schema=RUNS.schema),
            RUNS,
            partition_dir(lake, RUNS.name, day) / f"{run_id}.parquet",
            lake,
        )
        delta.register(lake, RUNS, day, [runs_file], replace=False)  # one commit per run, as real runs make
    for table in (DOCUMENTS, ENTITIES, QUOTES):
        delta.create(lake, table, files[table.name])
    return total


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm: the first call opens files
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return percentiles(runs)


def bench(
    name: str, work: Path, rows: list[dict], analysed: tuple, copies: int, n_dates: int, repeats: int, slow: int
) -> None:
    import duckdb

    from pipeline.views import build_database

    lake_dir = work / name / "lake"
    start = time.perf_counter()
    total = build_lake(lake_dir, rows, analysed, copies, n_dates)
    lake = location(str(lake_dir))
    print(
        f"\n== {name}: {total:,} documents over {n_dates} dates (lake written in {time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    folder = work / name / "index"
    start = time.perf_counter()
    report = update(folder, lake, threads=1)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(
        f"indexing from scratch, 1 writer thread: {report.documents:,} documents (exact duplicates left out) in "
        f"{seconds:.1f} s = {report.documents / seconds:,.0f} docs/s per core; index {size / 2**20:,.0f} MB",
        flush=True,
    )
    state = json.loads((folder / STATE_FILE).read_text())
    one = sorted(state["dates"])[n_dates // 2]
    state["dates"][one]["run_id"] = "a run since replaced"
    (folder / STATE_FILE).write_text(json.dumps(state))
    start = time.perf_counter()
    again = update(folder, lake, threads=1)
    print(
        f"incremental update of one rerun date: {again.documents:,} documents in {time.perf_counter() - start:.2f} s",
        flush=True,
    )
    db = work / name / "news.duckdb"
    build_database(lake, db)
    last = FIRST_DAY + timedelta(days=n_dates - 1)
    year = max(FIRST_DAY, last - timedelta(days=364))
    print(
        f"median / p95 in ms over {repeats} runs ({slow} for ilike) "
        f"(search: top 20 with snippets; attention: {(last - year).days + 1} dates):"
    )
    print(f"{'kind':8} {'query':30} {'search':>15} {'ilike limit 20':>15} {'attention':>15} {'ilike per date':>15}")
    check_only = timed(lambda: lookup.search(folder, lake, "zzzzqqq", limit=20), repeats)
    print(
        f"{'(none)':8} {'a word in no document':30} {check_only[0]:7.1f} /{check_only[1]:6.1f}"
        "  (the freshness check and opening)"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        for kind, query, ilike in QUERIES:
            s = timed(lambda q=query: lookup.search(folder, lake, q, limit=20), repeats)
            a = timed(lambda q=query: lookup.attention(folder, lake, q, since=year, until=last), repeats)
            if ilike:
                sql_s = f"select doc_id, date, title from documents where duplicate_of is null and {ilike} limit 20"
                sql_a = (
                    f"select date, count(*) filter (where {ilike}), count(*) from documents "
                    f"where duplicate_of is null and date between '{year}' and '{last}' group by date"
                )
                i_s = timed(lambda sql=sql_s: con.execute(sql).fetchall(), slow)
                i_a = timed(lambda sql=sql_a: con.execute(sql).fetchall(), slow)
            else:
                i_s = i_a = (float("nan"), float("nan"))
            print(
                f"{kind:8} {query:30} {s[0]:7.1f} /{s[1]:6.1f} {i_s[0]:7.1f} /{i_s[1]:6.1f} "
                f"{a[0]:7.1f} /{a[1]:6.1f} {i_a[0]:7.1f} /{i_a[1]:6.1f}",
                flush=True,
            )
    from pipeline.delta import latest_version
    from pipeline.lake import current_runs

    print(
        f"the freshness check, one listing of the runs log: {timed(lambda: latest_version(lake, RUNS), repeats)[0]:.1f}"
        f" ms median; reading the current runs ({n_dates} commits in the log, done when it changed): "
        f"{timed(lambda: current_runs(lake), repeats)[0]:.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "reuters21578")
    parser.add_argument("--analysed", type=int, default=600, help="files run through spaCy for real entities/quotes")
    parser.add_argument("--copies", type=int, default=47, help="copies of the corpus in the big lake (47: 1M docs)")
    parser.add_argument("--dates", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=20, help="runs of each search and attention query")
    parser.add_argument("--ilike-repeats", type=int, default=5, help="runs of each ilike query (seconds each at 1M)")
    parser.add_argument("--only", choices=("reuters", "1M"), help="one lake only")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus}: give --corpus (the shared corpora are read at run time)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="news-etl-bench-search-") as tmp:
        work = Path(tmp)
        analysed = analysed_rows(args.corpus, args.analysed, work / "analysed")
        rows = corpus_rows(args.corpus)
        print(
            f"{len(rows):,} documents in {args.corpus.name}; entities and quotes of the first {args.analysed}",
            flush=True,
        )
        if args.only != "1M":
            bench("reuters", work, rows, analysed, 1, 30, args.repeats, args.ilike_repeats)
        if args.only != "reuters":
            bench("1M", work, rows, analysed, args.copies, args.dates, args.repeats, args.ilike_repeats)


if __name__ == "__main__":
    main()

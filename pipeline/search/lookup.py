"""Search and attention over time: the two questions asked of the index (index.py).

Every question first checks that nothing was committed since the index was updated (the runs table's Delta
version, from one listing of its log) and otherwise brings the index up to date with the lake's current runs
first, so an answer never comes from a stale index.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tantivy

from pipeline import delta
from pipeline.errors import UserError
from pipeline.lake import RUNS
from pipeline.search.index import State, locked, read_state, searcher, update
from pipeline.search.schema import SCHEMA, day_of
from pipeline.search.translate import to_query
from pipeline.storage import Location

log = logging.getLogger(__name__)
SEARCH_COLUMNS = ("doc_id", "date", "title", "score", "snippet")
ATTENTION_COLUMNS = ("date", "documents", "matching", "share")
SNIPPET_CHARS = 160
LEAD_CHARS = 30  # a snippet starts this far before its first match, so a cut cell still shows it
MARK = "**"  # around each matched word in a snippet
ATTEMPTS = 3  # a commit landing between the update and the search: update again


@contextlib.contextmanager
def reading(folder: Path, lake: Location) -> Iterator[tuple[tantivy.Searcher, State]]:
    """A searcher over an index that holds exactly the lake's current runs, and the index's record."""
    for _ in range(ATTEMPTS):
        version = delta.latest_version(lake, RUNS)
        with locked(folder, exclusive=False):
            state = read_state(folder)
            if state is not None and state.current(str(lake), version):
                try:
                    found = searcher(folder)
                except (ValueError, OSError) as error:  # tantivy's files damaged or removed behind our back
                    raise UserError(
                        f"the search index {folder} cannot be read ({error}): `news-etl search --rebuild`"
                    ) from None
                yield found, state
                return
        report = update(folder, lake)  # reads the current runs, and indexes the dates that changed
        if report.rebuilt:
            log.warning("search index %s built afresh: %s", folder, report.rebuilt)
    raise UserError(f"the lake {lake} keeps changing: the search index {folder} could not catch up; try again")


def search(
    folder: Path,
    lake: Location,
    text: str,
    since: date | None = None,
    until: date | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The best-matching current documents (BM25), best first: doc_id, date, title, score, snippet."""
    check_range(since, until)
    query = to_query(text, since, until)  # a malformed query fails before the index is touched
    with reading(folder, lake) as (searcher, _):
        hits = searcher.search(query, limit, count=False).hits
        snippets = tantivy.SnippetGenerator.create(searcher, query, SCHEMA, "text")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        rows = []
        for score, address in hits:
            doc = searcher.doc(address)
            rows.append(
                {
                    "doc_id": doc.get_first("doc_id"),
                    "date": day_of(doc.get_first("day")),
                    "title": doc.get_first("title") or None,
                    "score": round(score, 3),
                    "snippet": snippet(snippets.snippet_from_doc(doc), doc.get_first("text")),
                }
            )
    return rows


def snippet(found: tantivy.Snippet, text: str) -> str:
    """The fragment with its matched words marked, starting a little before the first; the text's start when
    nothing in the text matched (a title:, entity: or speaker: query)."""
    fragment, marks = found.fragment(), sorted((r.start, r.end) for r in found.highlighted())
    if not marks:
        return one_line(text[:SNIPPET_CHARS])
    start = max(0, marks[0][0] - LEAD_CHARS)
    start = start if start == 0 else fragment.find(" ", start) + 1 or start  # at a word's start
    out, at = [], start
    for begin, end in marks:
        out += [fragment[at:begin], MARK, fragment[begin:end], MARK]
        at = end
    out.append(fragment[at:])
    return ("…" if start else "") + one_line("".join(out))


def one_line(text: str) -> str:
    return " ".join(text.split())


def attention(
    folder: Path, lake: Location, text: str, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """One row per date from since to until (default: the first and last committed dates): the current
    documents of the date (exact duplicates excluded), those matching, and their share."""
    check_range(since, until)
    query = to_query(text, since, until)
    with reading(folder, lake) as (searcher, state):
        buckets = searcher.aggregate(
            query, {"days": {"histogram": {"field": "day", "interval": 1, "min_doc_count": 1}}}
        )
        documents = state.documents()
    matching = {day_of(int(b["key"])): int(b["doc_count"]) for b in buckets["days"]["buckets"]}
    if not documents and (since is None or until is None):
        raise UserError(f"no committed date in {lake} yet: give --from and --to, or run a date first")
    first = since or date.fromisoformat(min(documents))
    last = until or date.fromisoformat(max(documents))
    rows = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        total, hits = documents.get(day.isoformat(), 0), matching.get(day, 0)
        rows.append({"date": day, "documents": total, "matching": hits, "share": hits / total if total else 0.0})
    return rows


def check_range(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise UserError(f"--from {since} is after --to {until}")

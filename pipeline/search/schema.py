"""What the search index holds: its tantivy schema, how text becomes words, and one index document per
lake document (pure functions of the lake's rows).

Declared once here: the query translation (translate.py), the indexer (index.py) and the tests' brute-force
counts all follow these rules. A word is a run of letters and digits (tantivy's simple tokenizer), lower-cased,
not stemmed; names (entities, speakers) are whole keys folded as pipeline/extract/entities.py folds them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import tantivy

from pipeline.extract.entities import canonical_key

FORMAT = 1  # bump when the schema or the analysis changes: an index of another format is rebuilt
WORDS = "words"  # the analyser of text and title
KEYS = "keys"  # the analyser of entity, speaker and lang: the whole value, lower-cased
MAX_WORD_CHARS = 100  # longer "words" (base64, URLs without spaces) are left out of the index
EPOCH = date(1970, 1, 1)


def analysers() -> dict[str, tantivy.TextAnalyzer]:
    words = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_WORD_CHARS))
        .filter(tantivy.Filter.lowercase())
        .build()
    )
    keys = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build()
    return {WORDS: words, KEYS: keys}


ANALYSERS = analysers()


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("day", stored=True, indexed=True, fast=True)  # days since 1970: filter, count, delete
    builder.add_text_field("title", stored=True, tokenizer_name=WORDS)
    builder.add_text_field("text", stored=True, tokenizer_name=WORDS)  # stored: the snippets
    for name in ("entity", "speaker", "lang"):
        builder.add_text_field(name, stored=False, tokenizer_name=KEYS, index_option="basic")
    return builder.build()


SCHEMA = schema()


def words(text: str) -> list[str]:
    """The index's words of a text, as a query must spell them."""
    return ANALYSERS[WORDS].analyze(text)


def key(name: str) -> str:
    """An entity or speaker name as the index keys it ("U.S." -> "united states")."""
    return canonical_key(name)


def day_number(day: str | date) -> int:
    return ((date.fromisoformat(day) if isinstance(day, str) else day) - EPOCH).days


def day_of(number: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + number)


def index_document(
    row: dict[str, Any], day: int, entities: list[str] | None, speakers: list[str] | None
) -> tantivy.Document:
    """A documents row, with its entities' canonical keys and its quotes' speakers, as one index document."""
    doc = tantivy.Document()
    doc.add_text("doc_id", row["doc_id"])
    doc.add_unsigned("day", day)
    doc.add_text("title", row["title"] or "")
    doc.add_text("text", row["text"])
    doc.add_text("lang", row["language"] or "und")
    for value in entities or ():
        doc.add_text("entity", value)
    for value in speakers or ():
        doc.add_text("speaker", key(value))
    return doc

"""Pure extraction: spaCy Docs of one document in, rows for each table out. No IO here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacy.tokens import Doc

from pipeline.extract.entities import entity_rows
from pipeline.extract.quotes import quote_rows
from pipeline.extract.sentences import sentence_rows
from pipeline.extract.titles import title_of

Row = dict[str, Any]
EXTRACTED_TABLES = ("sentences", "entities", "quotes")  # what extract_document returns, for every document


def extract_document(doc_id: str, text: str, pieces: Sequence[tuple[int, Doc]]) -> dict[str, list[Row]]:
    """Rows per table for one document: its text, and its spaCy Docs as (char offset, Doc) pieces in order."""
    entities = entity_rows(doc_id, pieces)
    return {
        "sentences": sentence_rows(doc_id, pieces),
        "entities": entities,
        "quotes": quote_rows(doc_id, text, pieces, entities),  # speakers resolve to entity names
    }


__all__ = ["EXTRACTED_TABLES", "Row", "extract_document", "title_of"]

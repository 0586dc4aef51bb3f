"""Sentence boundaries as character offsets into the document text."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.extract.part import Part
from pipeline.tables import DOC_ID, Table


def sentence_rows(part: Part) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tokens, text = part.tokens, part.text
    firsts = tokens.sentence_starts  # none for a text spaCy failed on: it is tokenized only
    if not firsts:
        return rows
    for first, after in zip(firsts, [*firsts[1:], len(tokens.starts)], strict=True):
        start, end = tokens.starts[first], tokens.ends[after - 1]
        if text[start:end].strip():
            rows.append({"doc_id": part.doc_id, "sentence_idx": len(rows), "start_char": start, "end_char": end})
    return rows


SENTENCES = Table(
    "sentences",
    "Sentence boundaries: text[start_char:end_char] of the document (Python indices; substr is 1-based).",
    (
        DOC_ID,
        ("sentence_idx", pa.int32(), "0, 1, 2... in text order"),
        ("start_char", pa.int64(), "where the sentence starts in documents.text"),
        ("end_char", pa.int64(), "where it ends (exclusive)"),
    ),
    index="sentence_idx",
    extract=sentence_rows,
)

"""Sentence boundaries as character offsets into the document text."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.extract.part import Part
from pipeline.tables import DOC_ID, Table


def sentence_rows(part: Part) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not part.doc.has_annotation("SENT_START"):  # a text spaCy failed on is tokenized only
        return rows
    for sent in part.doc.sents:
        if sent.text.strip():
            rows.append(
                {
                    "doc_id": part.doc_id,
                    "sentence_idx": len(rows),
                    "start_char": sent.start_char,
                    "end_char": sent.end_char,
                }
            )
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

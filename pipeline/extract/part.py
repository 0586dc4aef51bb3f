"""What an extractor is handed: one spaCy Doc of a document, and what is already known about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # spaCy is imported by whoever makes the Docs; declaring tables must stay cheap
    from spacy.tokens import Doc


Row = dict[str, Any]


@dataclass(frozen=True)
class Tokens:
    """Each token's character offsets, whether it is layout whitespace, and whether it starts a sentence, read
    from the Doc's arrays at once: making a spaCy Token object per token costs more than the extractors' work."""

    starts: list[int]
    ends: list[int]
    is_space: list[bool]
    sentence_starts: list[int]  # token indices; empty for a Doc without sentences (spaCy failed on its text)

    @classmethod
    def of(cls, doc: Doc) -> Tokens:
        from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START

        columns = [IDX, IS_SPACE, LENGTH] + ([SENT_START] if doc.has_annotation("SENT_START") else [])
        array = doc.to_array(columns).astype("int64")  # SENT_START is -1 for "not a start"
        starts = array[:, 0].tolist()
        ends = (array[:, 0] + array[:, 2]).tolist()
        firsts = [0, *(array[1:, 3] == 1).nonzero()[0] + 1] if len(columns) == 4 and len(doc) else []
        return cls(starts, ends, array[:, 1].astype(bool).tolist(), [int(i) for i in firsts])


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

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens.of(self.doc)

    @cached_property
    def text(self) -> str:
        return self.doc.text  # spaCy joins every token's text each time it is asked: once per Part

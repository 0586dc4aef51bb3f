"""Reported speech (indirect quotations) and who said it: the clausal complement of a reporting verb.

Rules over the dependency parse, built on the direct quotes' speaker machinery (quotes.py): a cue word of
quotes.CUES with a clausal complement ("Miller said [the talks stalled]", "[The talks stalled], officials said",
"she told reporters [that ...]"); a clause with an "according to X" phrase ("[The talks stalled], according to
officials"); a name and a colon opening a paragraph ("SMITH: [We will win.]"). The speaker is the cue's subject
(or the object of "according to", or the name before the colon), resolved to the document's name as for direct
quotes. Only sentences with a cue word (or "according") need the parse: see quotes.needs_parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.extract import quotes
from pipeline.extract.quotes import (
    ACCORDING,
    CUES,
    NOUN_DEPS,
    QUOTE_CHARS,
    _Tokens,
    mention,
    subject_of,
)

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

CUE_SPEAKER_CONFIDENCE = 0.9  # a cue verb with its subject, as for direct quotes
ACCORDING_CONFIDENCE = 0.85
COLON_CONFIDENCE = 0.6
NO_SPEAKER_CONFIDENCE = 0.5
MIN_CHARS = 4  # shorter pieces are not content ("so", "yes"), as the gold's rule says
TRIM = set(" \t\n,;:—–-")


@dataclass
class Reported:
    start: int
    end: int
    cue: str
    cue_start: int
    speaker: tuple[int, int] | None
    confidence: float


def reported_speech(text: str, doc_tokens: _Tokens, quoted: list[tuple[int, int]]) -> list[Reported]:
    """The indirect quotations of a document, outermost only (a clause reported inside another's content is
    part of it), never inside a direct quotation nor one that is itself a direct quotation."""
    found: list[Reported] = []
    doc = doc_tokens.items[0][1].doc if doc_tokens.items else None
    if doc is None:
        return []

    def inside_quote(char: int) -> bool:
        return any(a <= char < b for a, b in quoted)

    for sent in doc.sents:
        for token in sent:
            if inside_quote(token.idx):
                continue
            if token.lower_ == ACCORDING:
                if item := _according(text, sent, token, doc_tokens):
                    found.append(item)
            elif token.dep_ not in NOUN_DEPS:
                found.extend(_complements(text, token, doc_tokens))
    found = [f for f in found if not _is_direct(text, f, quoted)]
    # outermost only: an attribution whose cue lies in another one's content is part of that content
    outer = [f for f in found if not any(o is not f and o.start <= f.cue_start < o.end for o in found)]
    outer.sort(key=lambda f: (f.start, f.end))
    kept: list[Reported] = []
    for item in outer:
        if kept and item.start < kept[-1].end:
            continue  # two cues claiming one clause: the first wins
        kept.append(item)
    return kept


def complements(cue: Token) -> list[Token]:
    """The heads of what a cue word reports, by the lexicon (quotes.REPORTED_CUES): its clausal complement
    (for any word of CUES too), infinitive, object, or the object of a preposition it takes."""
    word, lexicon = cue.lower_, quotes.REPORTED_CUES
    found = []
    for child in cue.children:
        dep = child.dep_
        if dep == "ccomp" and (word in CUES or word in lexicon.get("ccomp", ())):
            found.append(child)
        elif dep in ("xcomp", "dobj", "oprd") and word in lexicon.get(dep, ()):
            found.append(child)
        elif dep == "prep" and word in lexicon.get(child.lower_, ()):
            found.extend(o for o in child.children if o.dep_ in ("pobj", "pcomp"))
    return found


def _complements(text: str, cue: Token, tokens: _Tokens) -> list[Reported]:
    items = []
    for child in complements(cue):
        span = _trim(text, child.left_edge.idx, _end(child.right_edge))
        if span is None:
            continue
        start, end = span
        subject = subject_of(cue, lambda t, s=start, e=end: not s <= t.idx < e)
        speaker = mention(subject, tokens) if subject is not None else None
        confidence = CUE_SPEAKER_CONFIDENCE if speaker else NO_SPEAKER_CONFIDENCE
        items.append(Reported(start, end, cue.text, cue.idx, speaker, confidence))
    return items


def _according(text: str, sent: Span, according: Token, tokens: _Tokens) -> Reported | None:
    """ "[The talks stalled], according to officials" or "According to officials, [the talks stalled]"."""
    phrase = list(according.subtree)
    first, last = phrase[0].idx, _end(phrase[-1])
    source = next((o for prep in according.children for o in prep.children if o.dep_ == "pobj"), None)
    before = _trim(text, sent.start_char, first)
    after = _trim(text, last, sent.end_char)
    # the clause is the longer side of the phrase
    span = max((s for s in (before, after) if s), key=lambda s: s[1] - s[0], default=None)
    if span is None:
        return None
    speaker = mention(source, tokens) if source is not None else None
    return Reported(span[0], span[1], "according to", according.idx, speaker, ACCORDING_CONFIDENCE)


def _end(token: Token) -> int:
    return token.idx + len(token.text)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without the punctuation and spaces at its edges (the gold leaves them out)."""
    while start < end and text[start] in TRIM:
        start += 1
    while end > start and text[end - 1] in TRIM | {"."}:
        end -= 1
    return (start, end) if end - start >= MIN_CHARS else None


def _is_direct(text: str, item: Reported, quoted: list[tuple[int, int]]) -> bool:
    """A clause that is a direct quotation (opens with its mark) or lies inside one is not reported speech."""
    if text[item.start] in QUOTE_CHARS:
        return True
    return any(a <= item.start and item.end <= b for a, b in quoted)


__all__ = ["reported_speech", "Reported", "complements"]

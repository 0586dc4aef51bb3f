"""Reported speech (indirect quotations) and who said it: what a reporting word's complement says.

Rules over the dependency parse, built on the direct quotes' speaker machinery (quotes.py): a speech verb of
quotes.CUES with a clausal complement ("Miller said [the talks stalled]", "[The talks stalled], officials said",
"she told reporters [that ...]"), or a word of quotes.REPORTED_CUES with the complement the lexicon names
("vowed [to fight on]", "called for [new talks]"); a clause with an "according to X" phrase ("[The talks
stalled], according to officials"); a name and a colon opening a paragraph ("SMITH: [We will win.]"). The
speaker is the cue's subject (or the object of "according to", or the name before the colon), resolved to the
document's name as for direct quotes. Then a learned scorer (reported_scorer.py) weighs every other word's
complements the rules left out ("she backed [NAFTA]": words that report only sometimes) and keeps the likely
ones, with the cue's speaker found the same way.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from pipeline.extract import quotes, reported_scorer
from pipeline.extract.part import Part
from pipeline.extract.quotes import (
    ACCORDING,
    CUES,
    NOUN_DEPS,
    PRONOUNS,
    QUOTE_CHARS,
    SPEAKER_LABELS,
    SUBJECT_DEPS,
    _Tokens,
    antecedent,
    mention,
    subject_of,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

COMPLEMENTS = frozenset({"ccomp", "xcomp", "dobj", "oprd", "acl", "advcl"})  # the relations of the lexicon
CANDIDATE_RELATIONS = COMPLEMENTS | {"nsubjpass"}  # what the scorer weighs: also "[Trump] was criticized for ..."
CUE_SPEAKER_CONFIDENCE = 0.9  # a cue verb with its subject, as for direct quotes
ACCORDING_CONFIDENCE = 0.85
NEARBY_SPEAKER_CONFIDENCE = 0.7
COLON_CONFIDENCE = 0.6
NO_SPEAKER_CONFIDENCE = 0.5
MIN_CHARS = 4  # shorter pieces are not content ("so", "yes"), as the gold's rule says
TRIM = set(" \t\n,;:—–-")
# verbs whose subject is part of what is reported ("[X] seemed [to ...]"); -ing forms and passives gain nothing
RAISING = frozenset("seem seems seemed appear appears appeared expected".split())
RAISING_DEPS = frozenset({"xcomp", "oprd", "ccomp", "acomp"})
SET_OFF = frozenset({",", "—", "--"})  # what sets a relative clause off from the noun it adds to
# an adverbial clause opening with one of these says when, why or on what condition, not what was said ("[While
# Clinton's allies evince confidence], they said ..."); participles ("..., [calling it a disgrace]") remain
ADVERBIAL_MARKS = frozenset("while after when if because since before although though until once as".split())
OBJECT_PREPS = frozenset({"for", "as"})  # a phrase that completes an object's content (see _reach)


@dataclass
class Reported:
    start: int
    end: int
    cue: str
    cue_start: int
    speaker: tuple[int, int] | None
    confidence: float
    named: tuple[int, int] | None = None  # where the speaker's name is, when the mention is "who"
    relation: str = ""  # the complement's dependency relation to its cue
    kind: str = "indirect"  # or direct: a speech verb's clause that opens with a quotation (see _opens_quotation)


def reported_speech(
    part: Part, doc_tokens: _Tokens, quoted: list[tuple[int, int]], openings: set[int]
) -> list[Reported]:
    """The indirect quotations of a document: the rules' (by_rules), then what the learned scorer finds among
    the complements they left out (learned), in text order."""
    found = by_rules(part, doc_tokens, quoted, openings)
    found += learned(candidates(part, doc_tokens, found, quoted), doc_tokens)
    return sorted(found, key=lambda f: (f.start, f.end))


def by_rules(part: Part, doc_tokens: _Tokens, quoted: list[tuple[int, int]], openings: set[int]) -> list[Reported]:
    """Outermost only (a clause reported inside another's content is part of it), never inside a direct
    quotation (quoted: their spans) nor one that is itself a direct quotation, except a clause that opens with a
    quotation (openings: where any paired quote marks open) and runs on past it, which is direct speech the
    quote marks alone did not show."""
    doc = part.doc
    if not doc.has_annotation("DEP"):
        return []  # spaCy failed on this text (it is only tokenized): no parse, no reported speech
    text = part.text
    found: list[Reported] = []

    inside_quote = Spans(quoted).covers
    words = quotes.CUE_WORDS  # the lexicon's lookups, once per token only for the words that may report
    for sent in doc.sents:
        for token in sent:
            if token.lower_ not in words or inside_quote(token.idx):
                continue
            if token.lower_ == ACCORDING:
                found.extend(_according(text, sent, token, doc_tokens))
            else:
                found.extend(_complements(text, token, doc_tokens))
    found.extend(_colon_lines(text, doc))
    for item in found:
        if _opens_quotation(text, item, openings, quoted):
            item.kind = "direct"
    found = [f for f in found if f.kind == "direct" or not _is_direct(text, f, quoted)]
    # outermost only: an attribution whose cue lies in another one's content is part of that content
    outer = [f for f in found if not any(o is not f and o.start <= f.cue_start < o.end for o in found)]
    outer.sort(key=lambda f: (f.start, f.end))
    kept: list[Reported] = []
    for item in outer:
        if kept and item.start < kept[-1].end:
            continue  # two cues claiming one clause: the first wins
        kept.append(item)
    return kept


class Spans:
    """Character spans (they may overlap), asked whether a character or a span meets one of them, by bisection
    over their starts and the furthest end reached so far: a long text with many quotes stays linear."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self.starts = [a for a, _ in spans]
        self.reach = list(accumulate((b for _, b in spans), max))

    def covers(self, char: int) -> bool:
        k = bisect_right(self.starts, char)
        return k > 0 and self.reach[k - 1] > char

    def overlaps(self, start: int, end: int) -> bool:
        k = bisect_left(self.starts, end)
        return k > 0 and self.reach[k - 1] > start


@dataclass(frozen=True)
class Candidate:
    cue: Token
    pieces: list[tuple[int, int]]  # of the complement's subtree, as the rules cut them
    relation: str
    features: list[str]  # see reported_scorer.features

    def items(self, tokens: _Tokens) -> list[Reported]:
        """The pieces as reported speech, with the cue's speaker (found only for the candidates kept)."""
        return _attributed(self.cue, self.pieces, self.relation, tokens)


def candidates(part: Part, tokens: _Tokens, found: list[Reported], quoted: list[tuple[int, int]]) -> list[Candidate]:
    """Every complement of every word (CANDIDATE_RELATIONS, a preposition's object) that overlaps neither what is
    found already nor a direct quotation, and does not open with a quote mark."""
    doc, text = part.doc, part.text
    if not doc.has_annotation("DEP"):
        return []
    inside_quote, taken = Spans(quoted).covers, Spans([(f.start, f.end) for f in found] + quoted)
    found_here = []
    for cue in doc:
        if inside_quote(cue.idx):
            continue
        for child in cue.children:
            dep = child.dep_
            heads = [(child, dep)] if dep in CANDIDATE_RELATIONS else []
            if dep == "prep":
                heads = [(o, o.dep_) for o in child.children if o.dep_ in ("pobj", "pcomp")]
            for head, relation in heads:
                pieces = _trimmed_pieces(text, head)
                if not pieces or text[pieces[0][0]] in QUOTE_CHARS:
                    continue
                if any(taken.overlaps(start, end) for start, end in pieces):
                    continue
                features = reported_scorer.features(cue, head, relation, text)
                found_here.append(Candidate(cue, pieces, relation, features))
    return found_here


def learned(
    found: list[Candidate],
    tokens: _Tokens,
    score: Callable[[list[str]], float] = reported_scorer.probability,
    threshold: float | None = None,
) -> list[Reported]:
    """The candidates the scorer believes (probability at least its threshold), the likeliest first, none
    overlapping another; confidence is the probability. (score and threshold: the trainer tries its own.)"""
    threshold = reported_scorer.model()[2] if threshold is None else threshold
    scored = sorted(((score(c.features), c) for c in found), key=lambda pc: -pc[0])
    kept: list[Reported] = []
    for p, candidate in scored:
        if p < threshold:
            break
        if any(a < item.end and item.start < b for a, b in candidate.pieces for item in kept):
            continue
        items = candidate.items(tokens)
        for item in items:
            item.confidence = p
        kept.extend(items)
    return kept


def complements(cue: Token) -> list[Token]:
    """The heads of what a cue word reports, by the lexicon (quotes.REPORTED_CUES): its clausal complement
    (for any word of CUES too), infinitive, object, or the object of a preposition it takes."""
    word, lexicon = cue.lower_, quotes.REPORTED_CUES
    speech = word in CUES and cue.dep_ not in NOUN_DEPS
    # a speech verb set in its content's clause: "Acts of protest, [Obama said], are acts of patriotism", "He said,
    # the bridge is safe" (parataxis): the content is the clause without the cue's words
    found = [cue.head] if speech and cue.dep_ == "parataxis" else []
    for child in cue.children:
        dep = child.dep_
        if dep == "ccomp" and speech:
            found.append(child)
        elif dep in COMPLEMENTS and word in lexicon.get(dep, ()):
            if not (dep == "advcl" and child.left_edge.lower_ in ADVERBIAL_MARKS):
                found.append(child)
        elif dep == "prep" and word in lexicon.get(child.lower_, ()):
            found.extend(o for o in child.children if o.dep_ in ("pobj", "pcomp"))
    return found


def speaker_of(cue: Token, usable: Callable[[Token], bool]) -> Token | None:
    """Who reports: the agent of a passive cue ("[Trump] was criticized by [residents]"), else the cue's subject
    (quotes.subject_of), else the owner of a noun cue ("[his] claim that"), else the subject of the verb a noun
    or participle cue hangs on ("[Trump] voiced fears that")."""
    agents = (o for by in cue.children if by.dep_ == "agent" for o in by.children if o.dep_ == "pobj")
    if (agent := next((o for o in agents if usable(o)), None)) is not None:
        return agent
    if (subject := subject_of(cue, usable)) is not None:
        return subject
    if (owner := next((c for c in cue.children if c.dep_ == "poss" and usable(c)), None)) is not None:
        return owner
    if cue.dep_ in NOUN_DEPS | {"acl", "advcl", "xcomp", "prep", "pcomp"}:  # not the root
        if (subject := subject_of(cue.head, usable)) is not None:
            return subject
    # the parse gave none: the nearest name or pronoun before the cue in its sentence
    before = reversed([t for t in cue.sent if t.i < cue.i and usable(t)])
    return next((t for t in before if t.ent_type_ in SPEAKER_LABELS or t.lower_ in PRONOUNS), None)


def _complements(text: str, cue: Token, tokens: _Tokens) -> list[Reported]:
    items = []
    for child in complements(cue):
        aside = cue if child.i == cue.head.i else None  # "Acts of protest, [Obama said], are acts of patriotism"
        relation = "parataxis" if aside is not None else child.dep_
        reported = _attributed(cue, _trimmed_pieces(text, child, aside), relation, tokens)
        if reported and cue.lower_ in RAISING and child.dep_ in RAISING_DEPS:
            # "[Trump's supporters] seemed [equally unperturbed]": the subject is what seems, part of the content
            raised = next((c for c in cue.children if c.dep_ in SUBJECT_DEPS and c.i < cue.i), None)
            if raised is not None:
                items.extend(
                    Reported(a, b, cue.text, cue.idx, None, NO_SPEAKER_CONFIDENCE, None, raised.dep_)
                    for a, b in _trimmed_pieces(text, raised)
                )
        items.extend(reported)
    return items


def _trimmed_pieces(text: str, head: Token, aside: Token | None = None) -> list[tuple[int, int]]:
    return [p for p in (_trim(text, a, b) for a, b in _pieces(head, aside)) if p]


def _attributed(cue: Token, pieces: list[tuple[int, int]], relation: str, tokens: _Tokens) -> list[Reported]:
    """What a cue reports in these pieces of a complement, with the cue's speaker."""
    if not pieces:
        return []
    subject = speaker_of(cue, lambda t: not any(a <= t.idx < b for a, b in pieces))
    speaker = mention(subject, tokens) if subject is not None else None
    name = antecedent(subject) if subject is not None else None
    named = mention(name, tokens) if name is not None else None
    if subject is None:
        confidence = NO_SPEAKER_CONFIDENCE
    else:  # the cue's own subject is surest; an owner, a governing verb's subject or a nearby name less so
        confidence = CUE_SPEAKER_CONFIDENCE if subject.dep_ in SUBJECT_DEPS else NEARBY_SPEAKER_CONFIDENCE
    return [Reported(a, b, cue.text, cue.idx, speaker, confidence, named, relation) for a, b in pieces]


def _according(text: str, sent: Span, according: Token, tokens: _Tokens) -> list[Reported]:
    """ "[The talks stalled], according to officials", "According to officials, [the talks stalled]" and "[The
    plan], according to officials, [is dead]" (both sides, as the gold counts pieces)."""
    phrase = list(according.subtree)
    first, last = phrase[0].idx, _end(phrase[-1])
    source = next((o for prep in according.children for o in prep.children if o.dep_ == "pobj"), None)
    sides = [s for s in (_trim(text, sent.start_char, first), _trim(text, last, sent.end_char)) if s]
    if not sides:
        return []
    if len(sides) == 1 or text[last : sides[1][0]].strip() != ",":
        sides = [max(sides, key=lambda s: s[1] - s[0])]  # the clause is the longer side of the phrase
    speaker = mention(source, tokens) if source is not None else None
    return [Reported(a, b, "according to", according.idx, speaker, ACCORDING_CONFIDENCE) for a, b in sides]


def _pieces(head: Token, aside: Token | None = None) -> list[tuple[int, int]]:
    """The character spans of a complement's subtree, cut where words outside it interrupt it ("The plan,
    [he said], is fair" gives two pieces, as the gold counts them), without a relative clause set off at its end
    ("[Trump], who says he is honored": what the reporter adds about someone, not what was reported)."""
    doc = head.doc
    dropped: set[int] = {t.i for t in aside.subtree} if aside is not None else set()
    reach = _reach(head)
    for t in head.subtree:
        # "Gates was not working for them and [said Manafort was not involved]": a speech verb conjoined inside
        # the content reports on its own (its content is found from its cue), with the "and" before it
        if t.dep_ == "conj" and t.i != head.i and t.lower_ in CUES and t.i not in dropped and complements(t):
            dropped.update(x.i for x in t.subtree)
            left = t.left_edge.i - 1
            while left > head.left_edge.i and doc[left].dep_ in ("cc", "punct"):
                dropped.add(left)
                left -= 1
    for t in head.subtree:
        if t.dep_ == "relcl" and t.i != head.i and t.right_edge.i >= head.right_edge.i - 1:
            comma = t.left_edge.i - 1
            if comma > head.i and doc[comma].text in SET_OFF:
                dropped.update(x.i for x in t.subtree)
                dropped.add(comma)
    indices = sorted(i for i in reach if i not in dropped)
    runs, first = [], indices[0]
    for previous, current in zip(indices, indices[1:], strict=False):
        if current != previous + 1:
            runs.append((first, previous))
            first = current
    runs.append((first, indices[-1]))
    return [(doc[a].idx, _end(doc[b])) for a, b in runs]


def _reach(head: Token) -> set[int]:
    """A complement's words: its subtree; for an object or what it is called, the other one beside it ("called
    [Clinton a disgrace]"); and for an object the "for" or "as" phrase right after it, which says what it is
    praised, blamed or cited for ("criticized [Trump for taking advantage of deductions]", "pointed to [the GOP
    as the key obstacle]")."""
    found = {t.i for t in head.subtree}
    if head.dep_ in ("dobj", "oprd"):
        for other in head.head.children:
            beside = other.left_edge.i == head.right_edge.i + 1 or other.right_edge.i + 1 == head.left_edge.i
            if other.dep_ in ("dobj", "oprd") and other.i != head.i and beside:
                found.update(t.i for t in other.subtree)
    if head.dep_ == "dobj":
        anchor = head
    elif head.dep_ == "pobj" and head.head.dep_ == "prep":
        anchor = head.head
    else:
        return found
    end = max(found)
    for sibling in anchor.head.children:
        if sibling.dep_ == "prep" and sibling.lower_ in OBJECT_PREPS and sibling.left_edge.i == end + 1:
            found.update(t.i for t in sibling.subtree)
            end = sibling.right_edge.i
    return found


def _colon_lines(text: str, doc: Doc) -> list[Reported]:
    """ "SMITH: We will win." and "Ann Coulter: The Party Is Over": a name alone before a colon that opens its
    paragraph speaks the rest of the paragraph (transcripts, headlines)."""
    found = []
    for ent in doc.ents:
        if ent.label_ not in SPEAKER_LABELS or ent.end >= len(doc) or doc[ent.end].text != ":":
            continue
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        if text[line_start : ent.start_char].strip():
            continue
        line_end = text.find("\n", ent.end_char)
        span = _trim(text, doc[ent.end].idx + 1, len(text) if line_end < 0 else line_end)
        if span is not None:
            speaker = (ent.start_char, ent.end_char)
            found.append(Reported(span[0], span[1], ":", doc[ent.end].idx, speaker, COLON_CONFIDENCE))
    return found


def _end(token: Token) -> int:
    return token.idx + len(token.text)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without the punctuation and spaces at its edges (the gold leaves them out)."""
    while start < end and text[start] in TRIM:
        start += 1
    while end > start and text[end - 1] in TRIM | {"."}:
        end -= 1
    return (start, end) if end - start >= MIN_CHARS else None


def _opens_quotation(text: str, item: Reported, openings: set[int], quoted: list[tuple[int, int]]) -> bool:
    """ "Steve Elmendorf said [“He can assert it, but it seems extremely unlikely” that Sanders can catch Clinton]":
    a speech verb's clause that opens with a quoted sentence and runs on past its closing mark is one direct
    quotation (the gold's rule too: content that opens with a quote mark), when no direct quote was found there."""
    return (
        item.relation == "ccomp"
        and item.cue.lower() in CUES
        and item.start in openings
        and text[item.start : item.end].lstrip(QUOTE_CHARS + " ")[:1].isupper()
        and not any(a < item.end and item.start < b for a, b in quoted)
    )


def _is_direct(text: str, item: Reported, quoted: list[tuple[int, int]]) -> bool:
    """A clause that is a direct quotation (opens with its mark) or starts inside one is not reported speech (one
    that starts inside and runs out of it is a parse that crossed the closing mark)."""
    if text[item.start] in QUOTE_CHARS:
        return True
    return any(a <= item.start < b for a, b in quoted)


__all__ = ["reported_speech", "by_rules", "candidates", "learned", "Reported", "Candidate", "complements"]

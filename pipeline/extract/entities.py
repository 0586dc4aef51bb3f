"""Named entities, made consistent within a document, with a canonical name and a corpus-wide key.

The model's mentions go through a few document-level steps, each small and measured (docs/quality-ner.md):

1. tidy spans: no leading "the", trailing possessive, score numbers or layout whitespace; no span across a
   sentence break; no "name" without a letter.
2. ALL-CAPS lines (headlines, tables): the model is unreliable on them, so a mention there is kept only when the
   same name occurs in normal case elsewhere in the document, and such names found there are added.
3. propagation: a name the model found once, or the surname of a person it found, is labelled at its other,
   unlabelled occurrences.
4. label consistency: one label per name in a document (the majority), and a short form of a person's full
   name ("Blinken" for "Antony Blinken") is a PERSON wherever it occurs.
5. canonical: the document-level full name ("Blinken" -> "Antony Blinken"; "ECB" -> "European Central Bank"
   when the text defines it), and canonical_key, folded across the corpus ("U.S." = "the United States").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from pipeline.extract.part import Part
from pipeline.tables import DOC_ID, Table

# Labels that name something; numbers, dates and amounts are left exactly as the model gave them.
NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
# Names that never contain a bare number or a separator (unlike "Windows 95" or "Star Wars: Andor").
SPLIT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
SEPARATOR = re.compile(r"\s+[-–—]+\s+|\s*[,;:()\[\]]\s*|(?<!\S)[-+(]?\d[\d.,:/()+-]*(?!\S)")

POSSESSIVE = re.compile(r"\s*['’]s?$")
LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
# Courtesy titles: "Ms Hewitt" is Patricia Hewitt. Office titles ("President") stay: they can be the name.
HONORIFIC = re.compile(r"^(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lord|Lady|Rev)\.?\s+(?=[A-Z])")
LETTER = re.compile(r"[^\W\d_]")
LOWER = re.compile(r"[a-z]")
ACRONYM_DEFINITION = re.compile(r"^\s*\(\s*([A-Z][A-Za-z&.]*[A-Z]\.?)\s*\)")
INITIALS_SKIP = frozenset({"of", "the", "and", "for", "de", "&"})

# Corpus-wide variants of the same name that folding case and punctuation cannot join: general knowledge,
# not learnt from any gold data. Keys are folded forms (see fold()).
VARIANTS = {
    "us": "united states",
    "usa": "united states",
    "united states of america": "united states",
    "america": "united states",
    "uk": "united kingdom",
    "britain": "united kingdom",
    "great britain": "united kingdom",
    "un": "united nations",
    "eu": "european union",
    "uae": "united arab emirates",
    "ussr": "soviet union",
    "nyc": "new york city",
}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    label: str  # after the document-level steps
    model_label: str  # what the model said ("" for mentions added by propagation)


@dataclass(frozen=True)
class Layout:
    """What the steps need to know about the document beyond its text: token and sentence boundaries."""

    text: str
    token_starts: frozenset[int]
    token_ends: frozenset[int]
    sentence_starts: frozenset[int]
    caps_lines: tuple[tuple[int, int], ...]  # (start, end) of lines written in capitals


def entity_rows(part: Part) -> list[dict[str, Any]]:
    layout = layout_of(part)
    text = layout.text
    model = [Mention(ent.start_char, ent.end_char, ent.label_, ent.label_) for ent in part.doc.ents]
    mentions = resolve_mentions(model, layout, part.dateline)
    names = [text[m.start : m.end] for m in mentions]
    labels = [m.label for m in mentions]
    canonical = canonical_names(list(zip(names, labels, strict=True)))
    canonical = expand_acronyms(text, mentions, canonical)
    return [
        {
            "doc_id": part.doc_id,
            "entity_idx": i,
            "start_char": m.start,
            "end_char": m.end,
            "text": name,
            "label": m.label,
            "model_label": m.model_label or None,
            "canonical": full,
            "canonical_key": canonical_key(full),
        }
        for i, (m, name, full) in enumerate(zip(mentions, names, canonical, strict=True))
    ]


def resolve_mentions(model: Sequence[Mention], layout: Layout, dateline: dict[str, Any] | None = None) -> list[Mention]:
    """The document-level steps, in order, from the model's mentions to the rows' mentions."""
    mentions = [m for m in (tidy_span(m, layout) for m in model) for m in m]
    mentions = caps_lines(mentions, layout)
    mentions = dateline_place(mentions, layout, dateline)
    mentions = propagate(mentions, layout)
    mentions = consistent_labels(mentions, layout.text)
    return sorted(mentions, key=lambda m: (m.start, m.end))


def layout_of(part: Part) -> Layout:
    tokens, text = part.tokens, part.text
    words = [i for i, space in enumerate(tokens.is_space) if not space]
    starts = frozenset(tokens.starts[i] for i in words)
    ends = frozenset(tokens.ends[i] for i in words)
    sents = frozenset(tokens.starts[i] for i in tokens.sentence_starts)
    return Layout(text, starts, ends, sents, tuple(capital_lines(text)))


def capital_lines(text: str) -> Iterable[tuple[int, int]]:
    """Lines with several letters and no lower-case one: headlines and tables where case says nothing."""
    position = 0
    for line in text.split("\n"):
        if not LOWER.search(line) and len(LETTER.findall(line)) >= 4:
            yield position, position + len(line)
        position += len(line) + 1


def in_caps_line(start: int, layout: Layout) -> bool:
    i = bisect.bisect_right(layout.caps_lines, (start, len(layout.text) + 1)) - 1
    return i >= 0 and layout.caps_lines[i][0] <= start < layout.caps_lines[i][1]


# -- 1. tidy spans -------------------------------------------------------------------------------------------


def tidy_span(mention: Mention, layout: Layout) -> list[Mention]:
    """The span without what CoNLL-style and human readers leave out of a name; [] if no name is left.

    A span is cut at a line break that starts a sentence (a headline running into the body), and a person, place
    or organisation also at separators no such name contains: a spaced dash, a comma, a colon, a bracket, a
    number standing alone ("Romania - Cosmin Contra", "Kent 108-3", "Haitai 2 Samsung 0").
    """
    if mention.label not in NAME_LABELS:
        return [mention] if layout.text[mention.start : mention.end].strip() else []
    pieces = _split_at_breaks(mention.start, mention.end, layout)
    if mention.label in SPLIT_LABELS:
        pieces = [p for a, b in pieces for p in _split_at(SEPARATOR, layout.text, a, b)]
    out = []
    for start, end in pieces:
        text = layout.text[start:end]
        trimmed = text.lstrip()
        start += len(text) - len(trimmed)
        if (the := LEADING_THE.match(trimmed)) and len(trimmed) > the.end():
            start += the.end()
            trimmed = trimmed[the.end() :]
        trimmed = trimmed.rstrip()
        if len(trimmed) > 3:
            trimmed = POSSESSIVE.sub("", trimmed)
        if LETTER.search(trimmed):
            out.append(replace(mention, start=start, end=start + len(trimmed)))
    return out


def _split_at(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    bounds = [start]
    for m in pattern.finditer(text, start, end):
        bounds += [m.start(), m.end()]
    bounds.append(end)
    return [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if a < b]


def _split_at_breaks(start: int, end: int, layout: Layout) -> list[tuple[int, int]]:
    cuts = [
        i + 1
        for i in range(start, end)
        if layout.text[i] == "\n" and _next_word(layout.text, i + 1, end) in layout.sentence_starts
    ]
    bounds = [start, *cuts, end]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if layout.text[a:b].strip()]


def _next_word(text: str, i: int, end: int) -> int:
    while i < end and text[i].isspace():
        i += 1
    return i


# -- 2. ALL-CAPS lines ---------------------------------------------------------------------------------------


def caps_lines(mentions: list[Mention], layout: Layout) -> list[Mention]:
    """In capitals the model guesses; keep a mention there only if the document names it in normal case."""
    if not layout.caps_lines:
        return mentions
    known = {_key(layout.text, m) for m in mentions if m.label in NAME_LABELS and not in_caps_line(m.start, layout)}
    return [
        m
        for m in mentions
        if m.label not in NAME_LABELS or not in_caps_line(m.start, layout) or _key(layout.text, m) in known
    ]


def _key(text: str, mention: Mention) -> str:
    return " ".join(text[mention.start : mention.end].split()).casefold()


def dateline_place(mentions: list[Mention], layout: Layout, dateline: dict[str, Any] | None) -> list[Mention]:
    """The place of a dateline ("LONDON, Nov 24 -", "ALBANY, N.Y., March 2 -") is a GPE, whatever the model said."""
    if dateline is None:
        return mentions
    start = dateline["start_char"]
    place = layout.text[start : start + len(dateline["place"])]
    if " ".join(place.split()) != dateline["place"]:
        return mentions
    parts = [(a, b) for a, b in _split_at(SEPARATOR, layout.text, start, start + len(place))]
    kept = [m for m in mentions if not any(m.start < b and a < m.end for a, b in parts)]
    return kept + [Mention(a, b, "GPE", next((m.model_label for m in mentions if m.start == a), "")) for a, b in parts]


# -- 3. propagation -------------------------------------------------------------------------------------------


def propagate(mentions: list[Mention], layout: Layout) -> list[Mention]:
    """Other occurrences of a name the model found (same words, whole tokens, not inside another entity).

    In normal text the match is case-sensitive and skips one-word names the document also writes in lower case
    ("Such", "Next"); in ALL-CAPS lines it ignores case, which is how headline names are found.
    """
    text = layout.text
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for m in mentions:
        if m.label in NAME_LABELS and not in_caps_line(m.start, layout):
            names[" ".join(text[m.start : m.end].split())][m.label] += 1
    surnames = Counter(name.split()[-1] for name, labels in names.items() if labels["PERSON"] and len(name.split()) > 1)
    for surname, n in surnames.items():
        # a person's surname alone refers to them, unless two people here share it
        if n == 1 and surname not in names and _is_name_part(surname) and len(surname) > 2:
            names[surname]["PERSON"] += 1
    lower_words = set(re.findall(r"\w+", text)) if names else set()
    # a one-word name the document also writes in lower case is a common word there ("Such", "Next")
    names = {name: labels for name, labels in names.items() if " " in name or name.lower() not in lower_words}
    if not names:
        return mentions
    taken = bytearray(len(text))  # characters inside an entity already
    for m in mentions:
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?!\w)",
        re.IGNORECASE,
    )
    by_fold = {name.casefold(): labels for name, labels in names.items()}
    added = []
    for match in pattern.finditer(text):
        start, end = match.span()
        caps = in_caps_line(start, layout)
        labels = names.get(match.group()) or (by_fold.get(match.group().casefold()) if caps else None)
        if not labels or start not in layout.token_starts or end not in layout.token_ends:
            continue
        if any(taken[start:end]):
            continue
        added.append(Mention(start, end, labels.most_common(1)[0][0], ""))
        taken[start:end] = b"\x01" * (end - start)
    return mentions + added


# -- 4. label consistency -------------------------------------------------------------------------------------


def consistent_labels(mentions: list[Mention], text: str) -> list[Mention]:
    """One label per name: short forms of a full PERSON name are PERSON, others take their majority label.

    Ties keep each mention's own label. Only name labels are touched.
    """
    names = [" ".join(text[m.start : m.end].split()) for m in mentions]
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for name, m in zip(names, mentions, strict=True):
        if m.label in NAME_LABELS:
            votes[name][m.label] += 1
    people = {n for n, v in votes.items() if v["PERSON"] and len(n.split()) > 1}
    out = []
    for name, m in zip(names, mentions, strict=True):
        label = m.label
        if label in NAME_LABELS:
            full = {p for p in people if _contains_words(p, name)}
            top = votes[name].most_common(2)
            if len(full) == 1 and _is_name_part(name):
                label = "PERSON"
            elif len(top) == 1 or top[0][1] > top[1][1]:
                label = top[0][0]
        out.append(replace(m, label=label))
    return out


def _is_name_part(name: str) -> bool:
    return name[:1].isupper() and not name.isupper()


# -- 5. canonical names and keys ------------------------------------------------------------------------------


def clean_name(text: str, label: str = "") -> str:
    """The surface form without layout noise: collapsed spaces, no possessive, no leading 'the'.

    A person's courtesy title goes too ("Ms Hewitt" -> "Hewitt"), so the surname can find the full name.
    """
    name = " ".join(text.split())
    name = POSSESSIVE.sub("", name) if len(name) > 3 else name
    name = LEADING_THE.sub("", name)
    return HONORIFIC.sub("", name) if label == "PERSON" else name


def canonical_names(mentions: Sequence[tuple[str, str]]) -> list[str]:
    """One canonical name per (text, label) mention, resolving short person names to the full name.

    A short form ("Hoffmann", "Clara") tagged PERSON somewhere in the document resolves, wherever it
    occurs, to the one longer PERSON name that contains it as whole words; when two full names share it
    ("Hoffmann" with Clara and Jonas Hoffmann) it stays as is.
    """
    cleaned = [clean_name(text, label) for text, label in mentions]
    persons = {name for name, (_, label) in zip(cleaned, mentions, strict=True) if label == "PERSON"}
    full_names = {name for name in persons if len(name.split()) > 1}
    resolved = []
    for name in cleaned:
        # A non-PERSON mention resolves only if the model also tagged that same text PERSON here, so the
        # city "Washington" never turns into a "George Washington" of the same story.
        if name in persons and name not in full_names:
            candidates = {full for full in full_names if _contains_words(full, name)}
            if len(candidates) == 1:
                name = candidates.pop()
        resolved.append(name)
    return resolved


def expand_acronyms(text: str, mentions: Sequence[Mention], canonical: Sequence[str]) -> list[str]:
    """An acronym the text defines ("the European Central Bank (ECB)") takes the full name as canonical.

    Without a definition, an acronym made of the initials of exactly one multi-word name in the document
    takes that name too.
    """
    defined: dict[str, str] = {}
    for m, full in zip(mentions, canonical, strict=True):
        if m.label in NAME_LABELS and len(full.split()) > 1 and (d := ACRONYM_DEFINITION.match(text, m.end)):
            defined.setdefault(d.group(1).replace(".", ""), full)
    by_initials: dict[str, set[str]] = defaultdict(set)
    for m, full in zip(mentions, canonical, strict=True):
        if m.label in NAME_LABELS and len(full.split()) > 1:
            by_initials[initials(full)].add(full)
    out = []
    for m, full in zip(mentions, canonical, strict=True):
        bare = full.replace(".", "")
        if m.label in NAME_LABELS and bare.isupper() and " " not in bare and len(bare) >= 2:
            if bare in defined:
                full = defined[bare]
            elif len(by_initials.get(bare, ())) == 1:
                full = next(iter(by_initials[bare]))
        out.append(full)
    return out


def initials(name: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s-]+", name) if w and w.lower() not in INITIALS_SKIP).upper()


def fold(name: str) -> str:
    """Case, accents, punctuation and a leading 'the' folded away: 'The U.S.' -> 'us'."""
    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c)).casefold()
    name = re.sub(r"['’]s\b", "", name)
    name = re.sub(r"(?<=\b\w)\.", "", name)  # initials: u.s. -> us, j. smith -> j smith
    name = " ".join(re.sub(r"[^\w\s]", " ", name).split())
    return name.removeprefix("the ")


def canonical_key(canonical: str) -> str:
    """The corpus-wide key analysis views group by: one key for 'US', 'U.S.' and 'the United States'."""
    key = fold(canonical)
    return VARIANTS.get(key, key)


def _contains_words(full: str, short: str) -> bool:
    words, part = full.split(), short.split()
    n = len(part)
    return 0 < n < len(words) and any(words[i : i + n] == part for i in range(len(words) - n + 1))


ENTITIES = Table(
    "entities",
    "Named entity mentions, one label per name in a document, each with its document-level and corpus-wide name.",
    (
        DOC_ID,
        ("entity_idx", pa.int32(), "0, 1, 2... in text order"),
        ("start_char", pa.int64(), "where the mention starts in documents.text"),
        ("end_char", pa.int64(), "where it ends (exclusive)"),
        ("text", pa.string(), "the mention as written"),
        ("label", pa.string(), "PERSON, ORG, GPE...: one label per name in a document"),
        ("model_label", pa.string(), "what spaCy said; null for mentions found by propagation"),
        ("canonical", pa.string(), 'the document-level full name ("Hoffmann" -> "Clara Hoffmann")'),
        ("canonical_key", pa.string(), 'folded across the corpus ("US", "U.S.", "the United States" -> united states)'),
    ),
    index="entity_idx",
    extract=entity_rows,
)

"""Named entities with a document-level canonical name.

A news story names a person in full once ("Clara Hoffmann") and by surname afterwards ("Hoffmann"); every
mention gets the full name as `canonical`, so counting by canonical counts people, not spellings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from spacy.tokens import Doc

POSSESSIVE = re.compile(r"['’]s?$")
LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)


def entity_rows(doc_id: str, pieces: Sequence[tuple[int, Doc]]) -> list[dict[str, Any]]:
    mentions = [
        (offset + ent.start_char, offset + ent.end_char, ent.text, ent.label_)
        for offset, doc in pieces
        for ent in doc.ents
        if ent.text.strip()
    ]
    canonical = canonical_names([(text, label) for _, _, text, label in mentions])
    return [
        {
            "doc_id": doc_id,
            "entity_idx": i,
            "start_char": start,
            "end_char": end,
            "text": text,
            "label": label,
            "canonical": name,
        }
        for i, ((start, end, text, label), name) in enumerate(zip(mentions, canonical, strict=True))
    ]


def clean_name(text: str) -> str:
    """The surface form without layout noise: collapsed spaces, no possessive, no leading 'the'."""
    name = " ".join(text.split())
    name = POSSESSIVE.sub("", name) if len(name) > 3 else name
    return LEADING_THE.sub("", name)


def canonical_names(mentions: Sequence[tuple[str, str]]) -> list[str]:
    """One canonical name per (text, label) mention, resolving short person names to the full name.

    A short form ("Hoffmann", "Clara") tagged PERSON somewhere in the document resolves, wherever it
    occurs, to the one longer PERSON name that contains it as whole words; when two full names share it
    ("Hoffmann" with Clara and Jonas Hoffmann) it stays as is.
    """
    cleaned = [clean_name(text) for text, _ in mentions]
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


def _contains_words(full: str, short: str) -> bool:
    words, part = full.split(), short.split()
    n = len(part)
    return 0 < n < len(words) and any(words[i : i + n] == part for i in range(len(words) - n + 1))

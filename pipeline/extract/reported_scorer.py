"""A learned second opinion on reported speech: which complements the rules left out are content all the same.

The rules (reported.py) report what a lexicon of cue words says; PolNeAR annotates far more ("she backed
[NAFTA]", "reserved his passion for [...]"), a long tail of words that report only sometimes. Every other
complement of a word (its ccomp, xcomp, dobj, oprd, acl, advcl child or a preposition's object) is scored
here by a logistic regression over word forms, dependency labels, entity types and lengths, trained on PolNeAR
train by scripts/train_reported_scorer.py (which also chose the threshold, by cross-validation on train) and
kept in reported_scorer.json: feature -> weight, about 1,300 of them (L1). Pure: the features of one
candidate in, a probability out; nothing here reads the gold.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.extract.quotes import CUES, PRONOUNS, QUOTE_CHARS, RELATIVES, SPEAKER_LABELS, SUBJECT_DEPS, subject_of

if TYPE_CHECKING:
    from spacy.tokens import Token

WEIGHTS_FILE = Path(__file__).with_name("reported_scorer.json")


def features(cue: Token, child: Token, relation: str, text: str) -> list[str]:
    """What the scorer knows of one candidate: the cue word and the relation, its subject, the complement's
    first word, head, entity type and length. Feature names are strings: the weights file is readable."""
    word = cue.lower_
    subject = _kind(subject_of(cue, lambda _: True))
    subtree = list(child.subtree)
    length = _length(len(subtree))
    first = subtree[0].lower_
    span = text[subtree[0].idx : subtree[-1].idx + len(subtree[-1].text)]
    found = [
        f"w={word}",
        f"r={relation}",
        f"wr={word}|{relation}",
        f"s3r={word[-3:]}|{relation}",
        f"cd={cue.dep_}",
        f"cdr={cue.dep_}|{relation}",
        f"sk={subject}",
        f"skr={subject}|{relation}",
        f"len={length}",
        f"lenr={length}|{relation}",
        f"lenw={length}|{word}",
        f"first={first}",
        f"firstr={first}|{relation}",
        f"ch={child.lower_}|{relation}",
        f"cht={child.ent_type_}|{relation}",
        f"ch_ent={child.ent_type_ != ''}",
        f"side={'after' if child.i > cue.i else 'before'}",
        f"own_subj={any(c.dep_ in SUBJECT_DEPS for c in child.children)}|{relation}",
        f"cues={word in CUES}|{relation}",
        f"cap={cue.text[:1].isupper()}",
        f"head={cue.head.lower_}|{cue.dep_}",
        f"quote={any(c in span for c in QUOTE_CHARS)}",
        f"cuein={any(t.lower_ in CUES for t in subtree)}",
    ]
    if relation in ("pobj", "pcomp"):
        preposition = child.head.lower_
        found += [f"prep={preposition}", f"wp={word}|{preposition}", f"s3p={word[-3:]}|{preposition}"]
    return found


def _kind(subject: Token | None) -> str:
    if subject is None:
        return "none"
    if subject.ent_type_ in SPEAKER_LABELS:
        return "ent:" + subject.ent_type_
    if subject.lower_ in PRONOUNS:
        return "pron:" + subject.lower_
    return "rel" if subject.lower_ in RELATIVES else "other"


def _length(n: int) -> str:
    return "1" if n == 1 else "2-3" if n <= 3 else "4-8" if n <= 8 else "9-20" if n <= 20 else "21+"


@cache
def model() -> tuple[dict[str, float], float, float]:
    """(weights, bias, threshold) from the weights file."""
    saved = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    return saved["weights"], saved["bias"], saved["threshold"]


def probability(names: list[str]) -> float:
    weights, bias, _ = model()
    z = bias + sum(weights.get(name, 0.0) for name in names)
    return 1.0 / (1.0 + math.exp(-z))

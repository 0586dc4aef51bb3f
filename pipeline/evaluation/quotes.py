"""Quotation quality against PolNeAR-style brat gold, through the production extraction path.

Scoring (the project's rules, see the eval README), for each kind separately:
- direct: gold quotes are the pieces of Content spans whose text, stripped, opens with a quote mark and is longer
  than 3 characters; indirect (reported speech): the pieces that do not open with a quote mark and are longer than
  3 characters (relations with a malformed E line are skipped); a piece's speaker is its relation's Source span
  (first piece start to last piece end); predictions are the quotes rows of that kind;
- a prediction matches a gold quote when overlap / max(both lengths) >= T, each used at most once;
  precision, recall and F1 at T = 0.3 and T = 0.8 (direct) or T = 0.3 and T = 0.5 (indirect);
- speaker accuracy over gold quotes matched at T = 0.3 that have a Source: right when the predicted speaker span
  overlaps the Source span or its text equals the Source text, case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.analysis import extract_texts
from pipeline.config import Settings
from pipeline.errors import UserError

QUOTE_OPENERS = ('"', "“", "‘", "'")
KINDS = ("direct", "indirect")  # the values of quotes.kind
THRESHOLDS = {"direct": (0.3, 0.8), "indirect": (0.3, 0.5)}
SPEAKER_THRESHOLD = 0.3
TEXT_LINE = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t?(.*)$")
EVENT_LINE = re.compile(r"^(E\d+)\t(.*)$")


@dataclass(frozen=True)
class Speaker:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class GoldQuote:
    start: int
    end: int
    source: Speaker | None


@dataclass(frozen=True)
class Predicted:
    start: int
    end: int
    speaker: Speaker | None


def read_split(split_dir: Path, kind: str = "direct") -> dict[str, tuple[str, list[GoldQuote]]]:
    """doc_id -> (text, gold quotes of one kind): SPLIT/text/<doc>.txt and the first SPLIT/attributions/<doc>_*.ann."""
    text_dir, ann_dir = split_dir / "text", split_dir / "attributions"
    if not text_dir.is_dir() or not ann_dir.is_dir():
        raise UserError(f"{split_dir} is not a PolNeAR split: it needs text/ and attributions/ folders")
    split: dict[str, tuple[str, list[GoldQuote]]] = {}
    for path in sorted(text_dir.glob("*.txt")):
        annotations = sorted(ann_dir.glob(f"{glob_escape(path.stem)}_*.ann"))
        if not annotations:
            continue  # an article nobody annotated has no gold to score against
        try:
            # newline="" keeps the text exactly as the gold offsets count it
            with path.open(encoding="utf-8", newline="") as handle:
                text = handle.read()
            brat = annotations[0].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read gold document {path}: {error}") from None
        split[path.stem] = (text, gold_quotes(text, brat, kind))
    if not split:
        raise UserError(f"{split_dir} holds no annotated articles")
    return split


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def gold_quotes(text: str, brat: str, kind: str = "direct") -> list[GoldQuote]:
    """The quotations of one kind in a brat standoff file: Content pieces opening with a quote mark (direct),
    or the other Content pieces (indirect)."""
    direct = kind == "direct"
    spans: dict[str, tuple[str, list[tuple[int, int]], str]] = {}
    sources: dict[str, str] = {}  # content id -> source id
    for line in brat.splitlines():
        if m := TEXT_LINE.match(line):
            pieces = [(int(a), int(b)) for a, b in (p.split() for p in m.group(3).split(";"))]
            spans[m.group(1)] = (m.group(2), pieces, m.group(4))
        elif m := EVENT_LINE.match(line):
            fields = m.group(2).split()
            if not direct and not all(":" in arg for arg in fields):
                continue  # a malformed relation: the README's indirect rule skips it
            roles = dict(arg.split(":", 1) for arg in fields if ":" in arg)
            if "Content" in roles and "Source" in roles:
                sources[roles["Content"]] = roles["Source"]
    quotes = []
    for span_id, (kind, pieces, _) in spans.items():
        if kind != "Content":
            continue
        source = None
        if span_id in sources and sources[span_id] in spans:
            _, source_pieces, source_text = spans[sources[span_id]]
            source = Speaker(source_pieces[0][0], source_pieces[-1][1], source_text)
        for start, end in pieces:
            piece = text[start:end].strip()
            if piece.startswith(QUOTE_OPENERS) == direct and len(piece) > 3:
                quotes.append(GoldQuote(start, end, source))
    return sorted(quotes, key=lambda q: (q.start, q.end))


def overlap_ratio(a: tuple[int, int], b: tuple[int, int]) -> float:
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    longest = max(a[1] - a[0], b[1] - b[0])
    return overlap / longest if overlap > 0 and longest > 0 else 0.0


def match(gold: Sequence[GoldQuote], predicted: Sequence[Predicted], threshold: float) -> list[tuple[int, int]]:
    """(gold index, prediction index) pairs, best overlaps first, each side used at most once."""
    candidates = sorted(
        (
            (-ratio, g, p)
            for g, gq in enumerate(gold)
            for p, pq in enumerate(predicted)
            if (ratio := overlap_ratio((gq.start, gq.end), (pq.start, pq.end))) >= threshold
        )
    )
    used_gold: set[int] = set()
    used_predicted: set[int] = set()
    pairs = []
    for _, g, p in candidates:
        if g not in used_gold and p not in used_predicted:
            used_gold.add(g)
            used_predicted.add(p)
            pairs.append((g, p))
    return sorted(pairs)


def speaker_right(source: Speaker, speaker: Speaker | None) -> bool:
    if speaker is None:
        return False
    overlaps = speaker.start < source.end and source.start < speaker.end
    return overlaps or speaker.text.strip().casefold() == source.text.strip().casefold()


def score(
    gold: Mapping[str, Sequence[GoldQuote]],
    predicted: Mapping[str, Sequence[Predicted]],
    thresholds: Sequence[float] = THRESHOLDS["direct"],
) -> dict[str, Any]:
    """Micro precision, recall and F1 at each threshold, and speaker accuracy, over the gold documents."""
    n_gold = sum(len(quotes) for quotes in gold.values())
    n_predicted = sum(len(predicted.get(doc_id, ())) for doc_id in gold)
    result: dict[str, Any] = {"n_docs": len(gold), "gold_quotes": n_gold, "predicted_quotes": n_predicted}
    speakers_right = speakers_scored = 0
    for threshold in thresholds:
        hits = 0
        for doc_id, doc_gold in gold.items():
            doc_predicted = predicted.get(doc_id, ())
            pairs = match(doc_gold, doc_predicted, threshold)
            hits += len(pairs)
            if threshold == SPEAKER_THRESHOLD:
                scored = [(doc_gold[g].source, doc_predicted[p].speaker) for g, p in pairs if doc_gold[g].source]
                speakers_scored += len(scored)
                speakers_right += sum(speaker_right(source, speaker) for source, speaker in scored)
        precision = hits / n_predicted if n_predicted else 0.0
        recall = hits / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[f"at_{threshold}"] = {
            "matched": hits,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
        }
    result["speaker_accuracy"] = round(speakers_right / speakers_scored, 4) if speakers_scored else 0.0
    result["speakers_scored"] = speakers_scored
    return result


def predictions(rows: Iterable[Mapping[str, Any]], kind: str = "direct") -> list[Predicted]:
    """Quote rows of one kind as scored predictions."""
    found = []
    for row in rows:
        if row["kind"] != kind:
            continue
        speaker = None
        if row["speaker_start_char"] is not None:
            speaker = Speaker(row["speaker_start_char"], row["speaker_end_char"], row["speaker"])
        found.append(Predicted(row["start_char"], row["end_char"], speaker))
    return found


def evaluate_quotes(split_dir: Path, settings: Settings, kind: str = "direct") -> dict[str, Any]:
    """Run the pipeline over a PolNeAR-style split and score its quotes of one kind (direct, indirect) or of
    each kind (all: {"direct": ..., "indirect": ...}): a JSON-able dict."""
    if kind not in (*KINDS, "all"):
        raise UserError(f"unknown quote kind {kind!r}: expected direct, indirect or all")
    kinds = KINDS if kind == "all" else (kind,)
    splits = {k: read_split(split_dir, k) for k in kinds}
    texts = [(doc_id, text) for doc_id, (text, _) in splits[kinds[0]].items()]
    rows = dict(extract_texts(settings, texts))
    results = {}
    for k in kinds:
        gold = {doc_id: quotes for doc_id, (_, quotes) in splits[k].items()}
        predicted = {doc_id: predictions(doc_rows["quotes"], k) for doc_id, doc_rows in rows.items()}
        results[k] = {"kind": k, **score(gold, predicted, THRESHOLDS[k])}
    if kind == "all":
        return {"split": str(split_dir), **results}
    return {"split": str(split_dir), **results[kind]}

"""Named-entity quality against a CoNLL-style gold standard, through the production extraction path.

Scoring (the project's rules, see the eval README): spaCy/OntoNotes labels are mapped to the four CoNLL labels,
others are ignored; a predicted entity counts only if (start, end, mapped label) equals a gold one exactly;
micro precision, recall and F1 over all documents.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.analysis import extract_texts
from pipeline.config import Settings
from pipeline.errors import UserError
from pipeline.nlp import load_model

Span = tuple[int, int, str]  # (start, end, CoNLL label)

CONLL_LABEL = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}


def read_gold(gold_file: Path) -> dict[str, list[Span]]:
    """doc_id -> gold spans, from one JSON object per line: {"doc_id", "entities": [{"start", "end", "label"}]}."""
    gold: dict[str, list[Span]] = {}
    try:
        lines = gold_file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"cannot read the gold file {gold_file}: {error.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            gold[record["doc_id"]] = [(e["start"], e["end"], e["label"]) for e in record["entities"]]
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{gold_file}:{number}: not a gold record with doc_id and entities") from None
    return gold


def read_docs(docs_dir: Path, doc_ids: Iterable[str]) -> dict[str, str]:
    """The text of each gold document, DOCS_DIR/<doc_id>.txt, read exactly as the gold offsets expect."""
    texts = {}
    for doc_id in doc_ids:
        path = docs_dir / f"{doc_id}.txt"
        try:
            # newline="" keeps the text byte-for-byte (no CRLF translation) so gold offsets stay valid
            with path.open(encoding="utf-8", newline="") as handle:
                texts[doc_id] = handle.read()
        except OSError as error:
            raise UserError(f"cannot read gold document {path}: {error.strerror}") from None
    return texts


def conll_spans(entities: Iterable[tuple[int, int, str]]) -> list[Span]:
    """Model entities (start, end, spaCy label) as scored spans: labels mapped, unscored labels dropped."""
    return [(start, end, CONLL_LABEL[label]) for start, end, label in entities if label in CONLL_LABEL]


def score(gold: Mapping[str, Iterable[Span]], predicted: Mapping[str, Iterable[Span]]) -> dict[str, Any]:
    """Micro P/R/F1 over the gold documents, exact (start, end, label) matches, plus per-label figures."""
    counts: dict[str, Counter[str]] = {}
    for doc_id, gold_spans in gold.items():
        want, got = Counter(gold_spans), Counter(predicted.get(doc_id, ()))
        hits = want & got
        for key, spans in (("tp", hits), ("fp", got - hits), ("fn", want - hits)):
            for (_, _, label), n in spans.items():
                counts.setdefault(label, Counter())[key] += n
    total = sum(counts.values(), Counter())
    return {
        **_prf(total),
        "n_docs": len(gold),
        "by_label": {label: _prf(c) for label, c in sorted(counts.items())},
    }


def _prf(c: Counter[str]) -> dict[str, Any]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def pipeline_spans(settings: Settings, texts: Mapping[str, str]) -> dict[str, list[Span]]:
    """What the pipeline writes to the entities table, as scored spans."""
    return {
        doc_id: conll_spans((r["start_char"], r["end_char"], r["label"]) for r in rows["entities"])
        for doc_id, rows in extract_texts(settings, texts.items())
    }


def plain_spacy_spans(settings: Settings, texts: Mapping[str, str]) -> dict[str, list[Span]]:
    """The reference point: `nlp(text).ents` with the model's full default pipeline, no post-processing."""
    nlp = load_model(settings.model)
    docs = nlp.pipe(texts.values(), batch_size=settings.batch_size)
    return {
        doc_id: conll_spans((e.start_char, e.end_char, e.label_) for e in doc.ents)
        for doc_id, doc in zip(texts, docs, strict=True)
    }


def evaluate_ner(docs_dir: Path, gold_file: Path, settings: Settings, baseline: bool = True) -> dict[str, Any]:
    """Run the pipeline over the gold documents and score it; with baseline, plain spaCy too, side by side."""
    gold = read_gold(gold_file)
    texts = read_docs(docs_dir, gold)
    result = {"model": settings.model, **score(gold, pipeline_spans(settings, texts))}
    if baseline:
        plain = score(gold, plain_spacy_spans(settings, texts))
        result["baseline"] = {"name": "plain spaCy nlp(text).ents", **plain}
        result["f1_gain"] = round(result["f1"] - plain["f1"], 4)
    return result

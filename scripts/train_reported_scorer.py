"""Train the reported-speech scorer (pipeline/extract/reported_scorer.py) on a PolNeAR split, choose its
threshold by 5-fold cross-validation on the same split, and write pipeline/extract/reported_scorer.json.

    .venv/bin/python scripts/train_reported_scorer.py [--split ../shared/eval/polnear/train] [--c 0.3]

Needs scikit-learn (in the dev dependency group, which `make install` installs); production only reads the
JSON. The examples are what the production extraction makes of each article: the rules' reported
speech (kept as they are) and every other complement (reported.candidates); a candidate is positive when one of
its pieces overlaps a gold piece the rules did not match by LABEL_OVERLAP (the eval README's overlap). L1 keeps
a thousand weights or a few. The threshold is the one with the best cross-validated F1 at T = 0.3 among those
whose speaker accuracy stays at least SPEAKER_FLOOR (the issue's 0.85, plus a margin for unseen text).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.config import Settings
from pipeline.evaluation.quotes import Predicted, Speaker, match, overlap_ratio, read_split, score
from pipeline.extract import reported, reported_scorer
from pipeline.extract.part import Part
from pipeline.extract.quotes import _Tokens, direct_quotes
from pipeline.nlp import load_model

FOLDS = 5
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
SPEAKER_FLOOR = 0.86
LABEL_OVERLAP = 0.6  # chosen by cross-validation on train among 0.3-0.7


def examples(split: Path) -> list[dict]:
    """Per article: the rules' reported speech, the candidates and their labels."""
    settings = Settings.from_env()
    nlp = load_model(settings.model, settings.exclude)
    gold = read_split(split, "indirect")
    ids = list(gold)
    found = []
    for doc_id, doc in zip(ids, nlp.pipe([gold[k][0] for k in ids], batch_size=16), strict=True):
        part = Part(doc_id, doc)
        tokens, text = _Tokens(part), part.text
        paired, direct = direct_quotes(text)
        quoted = [(q.start, q.end) for q in direct]
        rules = reported.by_rules(part, tokens, quoted, {q.start for q in paired})
        base = [_predicted(text, r) for r in rules if r.kind == "indirect"]
        quotes = gold[doc_id][1]
        matched = {g for g, _ in match(quotes, base, 0.3)}
        free = [q for g, q in enumerate(quotes) if g not in matched]
        candidates = reported.candidates(part, tokens, rules, quoted)
        labels = [
            any(overlap_ratio((g.start, g.end), piece) >= LABEL_OVERLAP for piece in c.pieces for g in free)
            for c in candidates
        ]
        found.append(
            {
                "id": doc_id,
                "text": text,
                "tokens": tokens,
                "gold": quotes,
                "base": base,
                "candidates": candidates,
                "y": labels,
            }
        )
    return found


def _predicted(text: str, item: reported.Reported) -> Predicted:
    speaker = Speaker(item.speaker[0], item.speaker[1], text[slice(*item.speaker)]) if item.speaker else None
    return Predicted(item.start, item.end, speaker)


def fit(docs: list[dict], c: float) -> tuple[DictVectorizer, LogisticRegression]:
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform({name: 1 for name in cand.features} for d in docs for cand in d["candidates"])
    y = [label for d in docs for label in d["y"]]
    return vectorizer, LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear").fit(_int32(x), y)


def _int32(x: sparse.csr_matrix) -> sparse.csr_matrix:
    """liblinear takes 32-bit indices only; scipy makes 64-bit ones."""
    x = x.tocsr()
    x.indices, x.indptr = x.indices.astype(np.int32), x.indptr.astype(np.int32)
    return x


def scores(docs: list[dict], vectorizer: DictVectorizer, model: LogisticRegression) -> dict[int, float]:
    cands = [cand for d in docs for cand in d["candidates"]]
    if not cands:
        return {}
    p = model.predict_proba(_int32(vectorizer.transform({n: 1 for n in cand.features} for cand in cands)))[:, 1]
    return {id(cand.features): float(q) for cand, q in zip(cands, p, strict=True)}


def evaluate(docs: list[dict], probs: dict[int, float], threshold: float) -> dict:
    predicted = {}
    for d in docs:
        added = reported.learned(d["candidates"], d["tokens"], lambda names: probs[id(names)], threshold)
        predicted[d["id"]] = sorted(d["base"] + [_predicted(d["text"], i) for i in added], key=lambda q: q.start)
    return score({d["id"]: d["gold"] for d in docs}, predicted, (0.3, 0.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", type=Path, default=Path("../shared/eval/polnear/train"))
    parser.add_argument("--c", type=float, nargs="+", default=[0.3, 0.5, 1.0], help="inverse L1 strengths to try")
    parser.add_argument("--out", type=Path, default=reported_scorer.WEIGHTS_FILE)
    args = parser.parse_args()
    if not args.split.is_dir():
        print(f"{args.split}: no such PolNeAR split", file=sys.stderr)
        return 2
    docs = examples(args.split)
    order = list(range(len(docs)))
    random.Random(0).shuffle(order)
    best = None  # (F1, C, threshold, cross-validated figures)
    for c in args.c:
        probs: dict[int, float] = {}
        for k in range(FOLDS):
            held = set(order[k::FOLDS])
            vectorizer, model = fit([d for i, d in enumerate(docs) if i not in held], c)
            probs |= scores([d for i, d in enumerate(docs) if i in held], vectorizer, model)
        table = {t: evaluate(docs, probs, t) for t in (1.01, *THRESHOLDS)}
        for t, r in table.items():
            f1, f1_5, speakers = r["at_0.3"]["f1"], r["at_0.5"]["f1"], r["speaker_accuracy"]
            print(f"C {c} threshold {t}: F1@0.3 {f1} F1@0.5 {f1_5} speaker {speakers} ({r['predicted_quotes']})")
        for t in THRESHOLDS:
            if table[t]["speaker_accuracy"] >= SPEAKER_FLOOR and (best is None or table[t]["at_0.3"]["f1"] > best[0]):
                best = (table[t]["at_0.3"]["f1"], c, t, table[t])
    if best is None:
        print(f"no threshold keeps speaker accuracy at {SPEAKER_FLOOR}: nothing written", file=sys.stderr)
        return 1
    _, c, threshold, figures = best
    vectorizer, model = fit(docs, c)
    weights = {
        name: round(float(w), 5)
        for name, w in sorted(zip(vectorizer.get_feature_names_out(), model.coef_[0], strict=True))
        if w != 0
    }
    saved = {
        "trained_on": args.split.name,
        "c": c,
        "threshold": threshold,
        "cross_validated": {k: figures[k] for k in ("at_0.3", "at_0.5", "speaker_accuracy")},
        "bias": round(float(model.intercept_[0]), 5),
        "weights": weights,
    }
    args.out.write_text(json.dumps(saved, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"C {c}, threshold {threshold}, {len(weights)} weights -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""NER evaluation: the scoring rules on hand-made gold, and a whole evaluation over a tiny docs folder."""

import json
from pathlib import Path

import pytest

from conftest import SHARED
from pipeline.config import Settings
from pipeline.errors import UserError
from pipeline.evaluation.ner import conll_spans, evaluate_ner, read_docs, read_gold, score

pytestmark = pytest.mark.integration

CONLL = SHARED / "eval" / "conll2003"


def test_labels_are_mapped_and_unscored_ones_dropped():
    model = [(0, 5, "PERSON"), (6, 9, "GPE"), (10, 12, "FAC"), (13, 20, "NORP"), (21, 25, "DATE"), (26, 30, "ORG")]
    assert conll_spans(model) == [(0, 5, "PER"), (6, 9, "LOC"), (10, 12, "LOC"), (13, 20, "MISC"), (26, 30, "ORG")]


def test_score_counts_only_exact_span_and_label_matches():
    gold = {
        "a": [(0, 5, "PER"), (10, 16, "LOC"), (20, 23, "ORG")],
        "b": [(0, 4, "MISC")],
        "c": [],
    }
    predicted = {
        "a": [(0, 5, "PER"), (10, 16, "ORG"), (19, 23, "ORG")],  # a hit, a wrong label, a wrong start
        "b": [(0, 4, "MISC")],
        "c": [(3, 8, "LOC")],
        "not-in-gold": [(0, 1, "PER")],  # ignored: only gold documents are scored
    }
    result = score(gold, predicted)
    assert (result["tp"], result["fp"], result["fn"]) == (2, 3, 2)
    assert result["precision"] == 0.4
    assert result["recall"] == 0.5
    assert result["f1"] == round(2 * 0.4 * 0.5 / 0.9, 4)
    assert result["n_docs"] == 3
    assert result["by_label"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 2, "fn": 1}


def test_score_of_nothing_is_zero_not_an_error():
    assert score({"a": []}, {})["f1"] == 0.0


def write_gold(folder: Path, docs: dict[str, tuple[str, list[tuple[str, str]]]]) -> Path:
    """Docs folder and gold jsonl from (text, [(phrase, label)]) per doc: offsets found, not typed."""
    docs_dir = folder / "docs"
    docs_dir.mkdir()
    lines = []
    for doc_id, (text, entities) in docs.items():
        (docs_dir / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        spans = [
            {"start": text.index(p), "end": text.index(p) + len(p), "label": label, "text": p} for p, label in entities
        ]
        lines.append(json.dumps({"doc_id": doc_id, "entities": spans}))
    gold = folder / "gold.jsonl"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return gold


def test_evaluate_ner_runs_the_pipeline_and_plain_spacy(tmp_path):
    gold = write_gold(
        tmp_path,
        {
            "t1": (
                "MARKETS - SHARES FALL .\nBERLIN 2026-11-24\nClara Hoffmann said German shares fell in Berlin .",
                [("BERLIN", "LOC"), ("Clara Hoffmann", "PER"), ("German", "MISC"), ("Berlin", "LOC")],
            ),
            "t2": ("Nothing to see here .", []),
        },
    )
    result = evaluate_ner(tmp_path / "docs", gold, Settings.from_env(env={}))
    assert result["n_docs"] == 2
    assert result["tp"] + result["fn"] == 4 == result["baseline"]["tp"] + result["baseline"]["fn"]
    assert result["tp"] >= 3
    assert result["f1_gain"] == round(result["f1"] - result["baseline"]["f1"], 4)
    json.dumps(result)  # what the command prints
    assert "baseline" not in evaluate_ner(tmp_path / "docs", gold, Settings.from_env(env={}), baseline=False)


def test_bad_inputs_are_user_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "x"}\n', encoding="utf-8")
    with pytest.raises(UserError, match="bad.jsonl:1"):
        read_gold(bad)
    with pytest.raises(UserError, match="cannot read"):
        read_gold(tmp_path / "missing.jsonl")
    with pytest.raises(UserError, match="missing.txt"):
        read_docs(tmp_path, ["missing"])


def test_the_conll_dev_gold_matches_its_documents():
    """Reads the shared dev split in place (never copied here): every gold span is the text it claims."""
    if not (CONLL / "dev_gold_entities.jsonl").exists():
        pytest.skip(f"CoNLL-2003 dev split not found at {CONLL}")
    gold = read_gold(CONLL / "dev_gold_entities.jsonl")
    texts = read_docs(CONLL / "dev_docs", gold)
    records = [json.loads(line) for line in (CONLL / "dev_gold_entities.jsonl").read_text().splitlines() if line]
    assert len(gold) == len(records) > 0
    for record in records:
        text = texts[record["doc_id"]]
        for entity in record["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
            assert entity["label"] in {"PER", "ORG", "LOC", "MISC"}

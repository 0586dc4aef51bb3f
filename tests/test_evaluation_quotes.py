"""Quote evaluation: the brat reader and the scorer on tiny invented gold, then the whole path over a tiny split."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SHARED, make_settings
from pipeline.analysis import extract_texts
from pipeline.errors import UserError
from pipeline.evaluation.quotes import (
    GoldQuote,
    Predicted,
    Speaker,
    evaluate_quotes,
    gold_quotes,
    predictions,
    read_split,
    score,
)

pytestmark = pytest.mark.integration

POLNEAR_DEV = SHARED / "eval" / "polnear" / "dev"

TEXT = (
    "Ferry strike ends\n\n"
    "“The boats sail again on Monday,” said Anna Kowalski, the union leader.\n\n"
    "The company called the deal “fair” and said talks went well.\n\n"
    '"We lost money," Laura Benson said. "Our customers waited for a week."\n'
)


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def brat(text: str) -> str:
    """Invented annotation in PolNeAR's brat layout: one direct quote, one indirect, one split in two pieces."""
    q1, src1, cue1 = span(text, "“The boats sail again on Monday,”"), span(text, "Anna Kowalski"), span(text, "said")
    indirect = span(text, "the deal “fair”")
    p1, p2 = span(text, '"We lost money,"'), span(text, '"Our customers waited for a week."')
    src2 = span(text, "Laura Benson")
    return "\n".join(
        [
            f"T1\tContent {q1[0]} {q1[1]}\t{text[q1[0] : q1[1]]}",
            f"T2\tSource {src1[0]} {src1[1]}\tAnna Kowalski",
            f"T3\tCue {cue1[0]} {cue1[1]}\tsaid",
            f"T4\tAttribution {cue1[0]} {cue1[1]}\tsaid",
            "E1\tAttribution:T4 Content:T1 Cue:T3 Source:T2",
            f"T5\tContent {indirect[0]} {indirect[1]}\tthe deal “fair”",
            f"T6\tContent {p1[0]} {p1[1]};{p2[0]} {p2[1]}\t{text[p1[0] : p1[1]]} {text[p2[0] : p2[1]]}",
            f"T7\tSource {src2[0]} {src2[1]}\tLaura Benson",
            "E2\tContent:T6 Source:T7",
            "#1\tAnnotatorNotes T5\ta note, not a span",
            "a wrapped line of note text",
        ]
    )


def test_gold_quotes_are_content_pieces_opening_with_a_quote_mark():
    gold = gold_quotes(TEXT, brat(TEXT))
    assert [TEXT[g.start : g.end] for g in gold] == [
        "“The boats sail again on Monday,”",
        '"We lost money,"',
        '"Our customers waited for a week."',
    ]
    assert [g.source.text for g in gold] == ["Anna Kowalski", "Laura Benson", "Laura Benson"]
    assert TEXT[gold[0].source.start : gold[0].source.end] == "Anna Kowalski"


def test_indirect_gold_is_the_other_content_pieces():
    gold = gold_quotes(TEXT, brat(TEXT), "indirect")
    assert [TEXT[g.start : g.end] for g in gold] == ["the deal “fair”"]
    assert gold[0].source is None


def test_indirect_gold_skips_malformed_relations():
    text = "Officials said the talks stalled."
    content, source = span(text, "the talks stalled"), span(text, "Officials")
    lines = [f"T1\tContent {content[0]} {content[1]}\tx", f"T2\tSource {source[0]} {source[1]}\tOfficials"]
    (good,) = gold_quotes(text, "\n".join([*lines, "E1\tContent:T1 Source:T2"]), "indirect")
    assert good.source.text == "Officials"
    (unlinked,) = gold_quotes(text, "\n".join([*lines, "E1\tContent:T1 Source:T2 broken"]), "indirect")
    assert unlinked.source is None  # the piece is still gold; the malformed relation gives it no speaker


def test_short_pieces_and_quotes_without_source():
    text = 'He ticked "Y" and then said "we are done here."'
    yes, done = span(text, '"Y"'), span(text, '"we are done here."')
    gold = gold_quotes(text, f'T1\tContent {yes[0]} {yes[1]}\t"Y"\nT2\tContent {done[0]} {done[1]}\tx')
    assert gold == [GoldQuote(done[0], done[1], None)]  # '"Y"' is not longer than 3 characters


def test_scorer_exact_figures():
    gold = {
        "d": [
            GoldQuote(0, 20, Speaker(30, 35, "Smith")),
            GoldQuote(40, 60, None),
            GoldQuote(100, 110, Speaker(120, 125, "Jones")),
        ]
    }
    predicted = {
        "d": [
            Predicted(0, 20, Speaker(500, 505, "SMITH")),  # exact; speaker right by text
            Predicted(45, 60, None),  # overlap 15/20 = 0.75: a match at 0.3 only
            Predicted(100, 104, Speaker(200, 205, "Brown")),  # 4/10 = 0.4: at 0.3 only; wrong speaker
            Predicted(300, 320, None),  # nothing there
            Predicted(0, 19, None),  # overlaps the first gold quote too, which is already used
        ]
    }
    result = score(gold, predicted)
    assert result["at_0.3"] == {"matched": 3, "precision": 0.6, "recall": 1.0, "f1": 0.75}
    assert result["at_0.8"] == {"matched": 1, "precision": 0.2, "recall": 0.3333, "f1": 0.25}
    # gold 2 has no Source, so it is not scored: Smith right, Jones wrong
    assert result["speaker_accuracy"] == 0.5
    assert result["speakers_scored"] == 2
    assert (result["gold_quotes"], result["predicted_quotes"], result["n_docs"]) == (3, 5, 1)


def test_scorer_at_the_indirect_thresholds():
    gold = {"d": [GoldQuote(0, 20, None)]}
    result = score(gold, {"d": [Predicted(0, 12, None)]}, (0.3, 0.5))  # overlap 12/20 = 0.6
    assert result["at_0.5"]["f1"] == 1.0 and "at_0.8" not in result


def test_predictions_of_one_kind():
    rows = [
        {"kind": kind, "start_char": 0, "end_char": 5, "speaker": None, "speaker_start_char": None}
        for kind in ("direct", "indirect", "indirect")
    ]
    assert (len(predictions(rows)), len(predictions(rows, "indirect"))) == (1, 2)


def test_speaker_right_by_overlap():
    gold = {"d": [GoldQuote(0, 20, Speaker(30, 60, "the chief executive, Ms. Benson"))]}
    result = score(gold, {"d": [Predicted(0, 20, Speaker(52, 58, "Benson"))]})
    assert result["speaker_accuracy"] == 1.0


def test_nothing_predicted():
    result = score({"d": [GoldQuote(0, 20, None)]}, {})
    assert result["at_0.3"] == {"matched": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}


def write_split(root: Path) -> Path:
    (root / "text").mkdir(parents=True)
    (root / "attributions").mkdir()
    (root / "text" / "ferry.txt").write_text(TEXT, encoding="utf-8")
    (root / "attributions" / "ferry_a1.ann").write_text(brat(TEXT), encoding="utf-8")
    # a second annotator's file: only the first one counts
    (root / "attributions" / "ferry_b2.ann").write_text("T1\tContent 0 5\t“Ferr", encoding="utf-8")
    return root


def test_read_split_uses_the_first_annotator(tmp_path):
    split = read_split(write_split(tmp_path / "dev"))
    text, gold = split["ferry"]
    assert text == TEXT
    assert len(gold) == 3


def test_read_split_refuses_a_folder_that_is_not_a_split(tmp_path):
    with pytest.raises(UserError):
        read_split(tmp_path)


def test_evaluate_quotes_runs_the_pipeline(tmp_path):
    result = evaluate_quotes(write_split(tmp_path / "dev"), make_settings(tmp_path))
    assert result["n_docs"] == 1 and result["gold_quotes"] == 3
    assert result["at_0.3"] == {"matched": 3, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert result["at_0.8"]["f1"] == 1.0
    assert result["speaker_accuracy"] == 1.0


def test_evaluate_both_kinds(tmp_path):
    result = evaluate_quotes(write_split(tmp_path / "dev"), make_settings(tmp_path), "all")
    assert result["direct"]["at_0.3"]["f1"] == 1.0
    assert result["indirect"]["gold_quotes"] == 1 and set(result["indirect"]) >= {"at_0.3", "at_0.5"}
    with pytest.raises(UserError):
        evaluate_quotes(tmp_path / "dev", make_settings(tmp_path), "both")


@pytest.mark.skipif(not POLNEAR_DEV.is_dir(), reason=f"PolNeAR dev split not found at {POLNEAR_DEV}")
def copy_polnear_articles(split: Path, n: int) -> Path:
    """The first n PolNeAR dev articles and their annotations, copied at run time into a split of our own."""
    (split / "text").mkdir(parents=True)
    (split / "attributions").mkdir()
    for path in sorted((POLNEAR_DEV / "text").glob("*.txt"))[:n]:
        (split / "text" / path.name).write_bytes(path.read_bytes())
        for ann in (POLNEAR_DEV / "attributions").glob(f"{path.stem}_*.ann"):
            (split / "attributions" / ann.name).write_bytes(ann.read_bytes())
    return split


@pytest.mark.skipif(not POLNEAR_DEV.is_dir(), reason=f"PolNeAR dev split not found at {POLNEAR_DEV}")
def test_eval_kind_cli_on_polnear(tmp_path):
    """`news-etl eval quotes --kind` over a few real articles (copied by the test at run time, never stored)."""
    split = copy_polnear_articles(tmp_path / "dev", 4)
    command = [sys.executable, "-m", "pipeline.cli", "eval", "quotes", "--split", str(split)]
    outputs = {}
    for kind in ("indirect", "all"):
        done = subprocess.run(
            [*command, "--kind", kind], capture_output=True, text=True, timeout=600, check=False, cwd=REPO
        )
        assert done.returncode == 0, done.stderr
        outputs[kind] = json.loads(done.stdout)
    assert outputs["indirect"]["kind"] == "indirect" and outputs["indirect"]["gold_quotes"] > 10
    assert outputs["indirect"]["at_0.3"]["f1"] > 0.4
    assert outputs["all"]["indirect"]["at_0.5"] == outputs["indirect"]["at_0.5"]
    assert outputs["all"]["direct"]["kind"] == "direct" and "at_0.8" in outputs["all"]["direct"]


@pytest.mark.skipif(not POLNEAR_DEV.is_dir(), reason=f"PolNeAR dev split not found at {POLNEAR_DEV}")
def test_a_few_polnear_articles(tmp_path):
    """No crash and a sane score on real news (read in place, a handful of articles to stay fast)."""
    split = dict(list(read_split(POLNEAR_DEV).items())[:12])
    rows = dict(extract_texts(make_settings(tmp_path), [(doc_id, text) for doc_id, (text, _) in split.items()]))
    for doc_id, (text, _) in split.items():
        for row in rows[doc_id]["quotes"]:
            assert text[row["start_char"] : row["end_char"]] == row["text"]
    result = score(
        {doc_id: gold for doc_id, (_, gold) in split.items()},
        {doc_id: predictions(r["quotes"]) for doc_id, r in rows.items()},
    )
    assert result["gold_quotes"] > 20
    assert result["at_0.3"]["f1"] > 0.75
    assert result["speaker_accuracy"] > 0.75


@pytest.mark.skipif(not POLNEAR_DEV.is_dir(), reason=f"PolNeAR dev split not found at {POLNEAR_DEV}")
def test_the_reported_speech_scorer_trains_on_a_split(tmp_path):
    """scripts/train_reported_scorer.py end to end on 30 real articles (copied at run time, never stored): it
    cross-validates, picks a threshold and writes weights the production scorer reads."""
    split = copy_polnear_articles(tmp_path / "part", 30)
    out = tmp_path / "scorer.json"
    script = REPO / "scripts" / "train_reported_scorer.py"
    command = [sys.executable, str(script), "--split", str(split), "--c", "1.0", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["trained_on"] == "part" and saved["c"] == 1.0
    assert 0 < saved["threshold"] < 1 and saved["weights"]
    assert saved["cross_validated"]["speaker_accuracy"] >= 0.86
    assert all(isinstance(w, float) and w != 0 for w in saved["weights"].values())

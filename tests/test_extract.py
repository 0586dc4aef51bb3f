import pytest

from conftest import STORY
from pipeline.analysis import extract_document, extract_part
from pipeline.extract.titles import title_of
from pipeline.nlp import chunks

pytestmark = pytest.mark.unit


def test_sentence_rows_from_the_real_model(nlp):
    rows = extract_document("d1", nlp(STORY))
    sentences = rows["sentences"]
    assert [s["sentence_idx"] for s in sentences] == list(range(len(sentences)))
    assert all(STORY[s["start_char"] : s["end_char"]].strip() for s in sentences)


def test_long_texts_go_in_pieces_with_correct_offsets(nlp):
    text = "\n\n".join(STORY for _ in range(30))
    pieces = chunks(text, 2000)
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= 2000 for _, piece in pieces)
    rows = extract_part("d2", [(offset, nlp(piece)) for offset, piece in pieces], None)
    for row in rows["sentences"]:
        assert text[row["start_char"] : row["end_char"]].strip()


def test_chunks_cut_a_line_without_breaks():
    text = "x" * 25_000
    pieces = chunks(text, 10_000)
    assert [len(p) for _, p in pieces] == [10_000, 10_000, 5_000]
    assert [o for o, _ in pieces] == [0, 10_000, 20_000]


def test_title_is_the_first_line_before_a_blank_line():
    assert title_of(STORY) == "Hoffmann wins backing for budget plan"
    assert title_of("One paragraph with no headline.") is None
    assert title_of("Line one\nline two\n\nbody") is None

"""Entities: spans tidied, labels consistent within a document, canonical names and corpus-wide keys.

Most tests set the model's entities by hand on a tokenized Doc, so they test our steps, not the model's mood.
"""

import pytest
from spacy.tokens import Doc

from conftest import STORY
from pipeline.analysis import extract_document, join
from pipeline.extract.datelines import dateline_of
from pipeline.extract.entities import (
    Mention,
    canonical_key,
    canonical_names,
    clean_name,
    consistent_labels,
    entity_rows,
)
from pipeline.extract.part import Part
from pipeline.nlp import chunks

pytestmark = pytest.mark.unit


def marked(nlp, text: str, *marks: tuple[str, str] | tuple[str, str, int]) -> Doc:
    """A tokenized Doc whose entities are (phrase, label[, nth occurrence]) as given: a model's output, by hand."""
    doc = nlp.make_doc(text)
    spans = []
    for phrase, label, *nth in marks:
        start = -1
        for _ in range((nth[0] if nth else 0) + 1):
            start = text.index(phrase, start + 1)
        span = doc.char_span(start, start + len(phrase), label=label)
        assert span is not None, f"{phrase!r} is not on token boundaries"
        spans.append(span)
    doc.ents = spans
    return doc


def rows_of(nlp, text: str, *marks) -> list[dict]:
    rows = entity_rows(Part("d", marked(nlp, text, *marks), dateline_of(text)))
    for row in rows:
        assert text[row["start_char"] : row["end_char"]] == row["text"]
    return rows


def by_text(rows: list[dict], key: str) -> list[tuple[str, str]]:
    return [(r["text"], r[key]) for r in rows]


# -- canonical names ------------------------------------------------------------------------------------------


def test_canonical_resolves_surnames_to_the_full_name():
    mentions = [("Clara Hoffmann", "PERSON"), ("Hoffmann", "PERSON"), ("Hoffmann", "ORG"), ("Berlin", "GPE")]
    assert canonical_names(mentions) == ["Clara Hoffmann", "Clara Hoffmann", "Clara Hoffmann", "Berlin"]


def test_ambiguous_surname_stays_as_written():
    mentions = [("Clara Hoffmann", "PERSON"), ("Jonas Hoffmann", "PERSON"), ("Hoffmann", "PERSON")]
    assert canonical_names(mentions)[2] == "Hoffmann"


def test_places_are_not_turned_into_people():
    mentions = [("George Washington", "PERSON"), ("Washington", "GPE")]
    assert canonical_names(mentions) == ["George Washington", "Washington"]


def test_courtesy_titles_do_not_hide_the_surname():
    mentions = [("Patricia Hewitt", "PERSON"), ("Ms Hewitt", "PERSON")]
    assert canonical_names(mentions) == ["Patricia Hewitt", "Patricia Hewitt"]


def test_clean_name_drops_layout_possessive_and_article():
    assert clean_name("the  Bundesbank's") == "Bundesbank"
    assert clean_name("The\nUnited States") == "United States"


# -- label consistency ----------------------------------------------------------------------------------------


def test_a_short_form_of_a_full_name_is_that_person_wherever_it_occurs(nlp):
    text = "Antony Blinken met Lavrov. Blinken said talks went well. Later Blinken flew home."
    rows = rows_of(nlp, text, ("Antony Blinken", "PERSON"), ("Blinken", "GPE", 1), ("Blinken", "PERSON", 2))
    assert by_text(rows, "label") == [("Antony Blinken", "PERSON"), ("Blinken", "PERSON"), ("Blinken", "PERSON")]
    assert [r["model_label"] for r in rows] == ["PERSON", "GPE", "PERSON"]
    assert {r["canonical"] for r in rows} == {"Antony Blinken"}


def test_a_name_takes_its_majority_label_in_the_document():
    text = "Kent beat Essex. Kent won. Kent lost."
    mentions = [Mention(0, 4, "ORG", "ORG"), Mention(17, 21, "PERSON", "PERSON"), Mention(27, 31, "ORG", "ORG")]
    assert [m.label for m in consistent_labels(mentions, text)] == ["ORG", "ORG", "ORG"]


def test_a_tie_keeps_each_label_and_numbers_are_not_touched():
    text = "Jordan won. Jordan lost. 12 days."
    mentions = [Mention(0, 6, "GPE", "GPE"), Mention(12, 18, "PERSON", "PERSON"), Mention(25, 32, "DATE", "DATE")]
    assert [m.label for m in consistent_labels(mentions, text)] == ["GPE", "PERSON", "DATE"]


def test_a_name_found_once_is_labelled_where_the_model_missed_it(nlp):
    text = "Marrow Finch rejected the bid. Later Marrow Finch said the offer was low."
    rows = rows_of(nlp, text, ("Marrow Finch", "ORG"))
    assert by_text(rows, "label") == [("Marrow Finch", "ORG"), ("Marrow Finch", "ORG")]
    assert rows[1]["model_label"] is None  # added by propagation, not by the model


def test_a_one_word_name_the_text_also_uses_as_a_word_is_not_propagated(nlp):
    text = "Such took four wickets, such was his form. Such a spell is rare."
    rows = rows_of(nlp, text, ("Such", "PERSON"))
    assert len(rows) == 1


# -- spans ----------------------------------------------------------------------------------------------------


def test_spans_lose_the_article_possessive_and_scores(nlp):
    text = "the Bundesbank 's view : Kent 108-3 , Romania - Cosmin Contra ( 31st ) ."
    rows = rows_of(
        nlp, text, ("the Bundesbank 's", "ORG"), ("Kent 108-3", "ORG"), ("Romania - Cosmin Contra", "PERSON")
    )
    assert [r["text"] for r in rows] == ["Bundesbank", "Kent", "Romania", "Cosmin Contra"]


def test_a_name_without_letters_is_dropped_but_numbers_are_kept(nlp):
    rows = rows_of(nlp, "Scores 0 2 1 on 12 May .", ("0 2 1", "ORG"), ("12 May", "DATE"))
    assert by_text(rows, "label") == [("12 May", "DATE")]


def test_all_caps_headline_names_come_from_the_body(nlp):
    text = "HOFFMANN WINS VOTE IN BIG CABINET\n\nClara Hoffmann won the vote. Hoffmann was pleased."
    rows = rows_of(nlp, text, ("HOFFMANN WINS", "ORG"), ("CABINET", "ORG"), ("Clara Hoffmann", "PERSON"))
    labels = by_text(rows, "label")
    assert ("HOFFMANN", "PERSON") in labels and ("Hoffmann", "PERSON") in labels
    assert not any(text == "CABINET" for text, _ in labels)  # a guess in capitals the body does not back


def test_the_dateline_place_is_a_place(nlp):
    text = "Budget passes\n\nBERLIN, Nov 24 - The plan passed."
    rows = rows_of(nlp, text, ("BERLIN", "ORG"))
    assert by_text(rows, "label") == [("BERLIN", "GPE")]


# -- corpus-wide keys and acronyms ------------------------------------------------------------------------------


def test_canonical_key_folds_case_punctuation_and_variants():
    keys = {canonical_key(name) for name in ("US", "U.S.", "the United States", "United States", "USA", "u.s.")}
    assert keys == {"united states"}
    assert canonical_key("Société Générale") == canonical_key("SOCIETE GENERALE") == "societe generale"
    assert canonical_key("Bank of England") != canonical_key("England")


def test_acronyms_defined_in_the_text_take_the_full_name(nlp):
    text = "The European Central Bank (ECB) held rates. Analysts said the ECB would wait."
    rows = rows_of(nlp, text, ("European Central Bank", "ORG"), ("ECB", "ORG", 0), ("ECB", "ORG", 1))
    assert [r["canonical"] for r in rows] == ["European Central Bank"] * 3
    assert len({r["canonical_key"] for r in rows}) == 1


def test_acronyms_match_the_initials_of_one_full_name(nlp):
    text = "The World Health Organization met. The WHO said cases fell."
    rows = rows_of(nlp, text, ("World Health Organization", "ORG"), ("WHO", "ORG"))
    assert rows[1]["canonical"] == "World Health Organization"


# -- the real model ---------------------------------------------------------------------------------------------


def test_rows_from_the_real_model_reproduce_their_text(nlp):
    entities = extract_document("d1", nlp(STORY), dateline_of(STORY))["entities"]
    assert entities, "the model found no entities"
    for row in entities:
        assert STORY[row["start_char"] : row["end_char"]] == row["text"]
    people = {r["text"]: r["canonical"] for r in entities if r["label"] == "PERSON"}
    assert people.get("Hoffmann") == "Clara Hoffmann"
    assert [r["entity_idx"] for r in entities] == list(range(len(entities)))


def test_long_texts_in_pieces_keep_offsets_and_one_canonical(nlp):
    text = "\n\n".join(STORY for _ in range(30))
    pieces = chunks(text, 2000)
    rows = extract_document("d2", join([(offset, nlp(piece)) for offset, piece in pieces]))["entities"]
    assert len({r["canonical"] for r in rows if r["text"] == "Hoffmann"}) == 1
    for row in rows:
        assert text[row["start_char"] : row["end_char"]] == row["text"]

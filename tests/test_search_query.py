"""The search query language: its trees, its precedence, and one-line errors with the column."""

import pytest

from pipeline.search.index import State, plan_update
from pipeline.search.query import And, Not, Or, QueryError, Term, parse
from pipeline.search.schema import FORMAT, key, words
from pipeline.search.translate import to_query

pytestmark = pytest.mark.unit


def word(text, column, field="text"):
    return Term("word", text, field, column)


def test_words_phrases_prefixes_and_fields():
    assert parse("rafah") == word("rafah", 1)
    assert parse('"white house"') == Term("phrase", "white house", "text", 1)
    assert parse("negotiat*") == Term("prefix", "negotiat", "text", 1)
    assert parse("title:ceasefire") == word("ceasefire", 7, "title")
    assert parse('entity:"antony blinken"') == Term("phrase", "antony blinken", "entity", 8)
    assert parse("lang:en") == word("en", 6, "lang")
    assert parse("title:(gaza OR rafah*)") == Or((word("gaza", 8, "title"), Term("prefix", "rafah", "title", 16)))
    assert parse("covid-19") == word("covid-19", 1)  # one term: the phrase "covid 19" when translated
    assert parse("10:30") == word("10:30", 1)


def test_precedence_not_then_and_then_or():
    assert parse("a b") == And((word("a", 1), word("b", 3)))
    assert parse("a AND b") == parse("a b").__class__((word("a", 1), word("b", 7)))
    assert parse("a OR b c") == Or((word("a", 1), And((word("b", 6), word("c", 8)))))
    assert parse("a -b") == And((word("a", 1), Not(word("b", 4))))
    assert parse("NOT a OR b") == Or((Not(word("a", 5)), word("b", 10)))
    assert parse("(a OR b) AND NOT c") == And((Or((word("a", 2), word("b", 7))), Not(word("c", 18))))
    # Operators only in capitals, and only as whole words.
    assert parse("ANDROID or not") == And((word("ANDROID", 1), word("or", 9), word("not", 12)))


@pytest.mark.parametrize(
    ("query", "column", "says"),
    [
        ("", 1, "empty query"),
        ("gaza AND", 8, "nothing after 'AND'"),
        ("AND gaza", 1, "AND needs a term before it"),
        ("gaza OR", 7, "nothing after 'OR'"),
        ('"white house', 1, "never closed"),
        ("(gaza OR rafah", 1, "( is never closed"),
        ("gaza)", 5, ") without a ("),
        ("()", 2, "empty ()"),
        ("gaza - hamas", 6, "- goes right before the word"),
        ("gaza * aid", 6, "* only ends a word"),
        ("author:smith", 1, "unknown field author:"),
        ("title:", 6, "nothing after 'title:'"),
        ("title:entity:x", 14, "entity: inside title:"),
    ],
)
def test_malformed_queries_say_where_in_one_line(query, column, says):
    with pytest.raises(QueryError) as error:
        parse(query)
    message = str(error.value)
    assert error.value.column == column and f"column {column}" in message
    assert says in message and "\n" not in message


def test_a_term_without_words_is_an_error_at_its_column():
    with pytest.raises(QueryError, match="column 6: no word in '...'"):
        to_query('gaza "..."')
    with pytest.raises(QueryError, match="entity: needs a name"):
        to_query('entity:"..."')


def test_words_and_keys_as_the_index_makes_them():
    assert words("Rafah's covid-19 U.S. naïve_x") == ["rafah", "s", "covid", "19", "u", "s", "naïve", "x"]
    assert key("the U.S.") == "united states" and key("Antony Blinken") == "antony blinken"


def test_update_plan_from_the_record_and_the_current_runs():
    lake = "/lake"
    state = State(
        lake, {"2026-11-23": {"run_id": "r1", "documents": 3}, "2026-11-24": {"run_id": "r2", "documents": 4}}
    )
    same = plan_update(state, lake, {"2026-11-23": "r1", "2026-11-24": "r2"})
    assert same.empty
    rerun = plan_update(state, lake, {"2026-11-23": "r1", "2026-11-24": "r3", "2026-11-25": "r4"})
    assert (rerun.rebuild, rerun.changed, rerun.removed) == (None, ["2026-11-24", "2026-11-25"], [])
    gone = plan_update(state, lake, {"2026-11-23": "r1"})
    assert (gone.changed, gone.removed) == ([], ["2026-11-24"])
    assert plan_update(None, lake, {}).rebuild == "there is none yet"
    assert "format 0" in plan_update(State(lake, state.dates, 0), lake, state.runs()).rebuild
    assert FORMAT != 0
    assert "another lake" in plan_update(state, "/other", state.runs()).rebuild
    assert plan_update(state, lake, state.runs(), rebuild=True).changed == ["2026-11-23", "2026-11-24"]


def test_the_record_is_current_while_the_runs_log_has_not_moved():
    state = State("/lake", {}, FORMAT, runs_version=7)
    assert state.current("/lake", 7)
    assert not state.current("/lake", 8)  # a commit since: the runs are read again
    assert not state.current("/other", 7) and not State("/lake", {}, FORMAT - 1, 7).current("/lake", 7)

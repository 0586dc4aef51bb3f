"""Quotations, direct and reported: invented sentences through the real model, every case the extractor claims."""

import duckdb
import pytest

from pipeline.analysis import extract_document, join
from pipeline.extract import reported_scorer
from pipeline.extract.part import Part
from pipeline.extract.quotes import _Tokens, find_quotes, needs_parse
from pipeline.extract.reported import by_rules
from pipeline.nlp import chunks

pytestmark = pytest.mark.integration

COLUMNS = {
    "doc_id",
    "quote_idx",
    "kind",
    "start_char",
    "end_char",
    "text",
    "speaker",
    "speaker_start_char",
    "speaker_end_char",
    "speaker_canonical",
    "cue",
    "confidence",
}

STORY = (
    "Harbour bridge to reopen in spring\n\n"
    "Matthew Miller, the city's transport chief, met engineers on Tuesday at the flooded harbour bridge.\n\n"
    "“We will rebuild the bridge by spring,” said Miller. “The money is already there.”\n\n"
    "“The river rose fast,” he said, “and the pumps could not keep up.”\n\n"
    'Councillor Sarah Whitfield was less sure. "Nobody has shown us a budget," Whitfield told reporters.\n\n'
    "The so-called “green deal” for the harbour was signed in May.\n"
)


def quotes_of(nlp, text, doc_id="d1", kind="direct"):
    rows = extract_document(doc_id, nlp(text))["quotes"]
    check_offsets(text, rows)
    return [row for row in rows if row["kind"] == kind]


def check_offsets(text, rows):
    for i, row in enumerate(rows):
        assert set(row) == COLUMNS
        assert row["quote_idx"] == i
        assert row["kind"] in ("direct", "indirect")
        assert i == 0 or (rows[i - 1]["start_char"], rows[i - 1]["end_char"]) <= (row["start_char"], row["end_char"])
        assert text[row["start_char"] : row["end_char"]] == row["text"]
        if row["speaker"] is not None:
            assert text[row["speaker_start_char"] : row["speaker_end_char"]] == row["speaker"]
        assert 0.0 <= row["confidence"] <= 1.0


def test_curly_quotes_with_the_speaker_after(nlp):
    rows = quotes_of(nlp, STORY)
    first = rows[0]
    assert first["text"] == "“We will rebuild the bridge by spring,”"
    assert first["speaker"] == "Miller"
    assert first["speaker_canonical"] == "Matthew Miller"
    assert first["cue"] == "said"


def test_second_sentence_after_the_attribution_keeps_the_speaker(nlp):
    rows = quotes_of(nlp, STORY)
    assert rows[1]["text"] == "“The money is already there.”"
    assert rows[1]["speaker_canonical"] == "Matthew Miller"


def test_quote_broken_by_its_attribution_gives_two_pieces_with_one_speaker(nlp):
    rows = quotes_of(nlp, STORY)
    split = [r for r in rows if r["text"].startswith(("“The river", "“and the pumps"))]
    assert [r["text"] for r in split] == ["“The river rose fast,”", "“and the pumps could not keep up.”"]
    assert {r["speaker"] for r in split} == {"he"}
    assert {r["speaker_start_char"] for r in split} == {STORY.index("he said")}


def test_pronoun_resolves_to_the_full_name(nlp):
    rows = quotes_of(nlp, STORY)
    assert [r["speaker_canonical"] for r in rows if r["speaker"] == "he"] == ["Matthew Miller"] * 2


def test_straight_quotes_and_scare_quotes(nlp):
    rows = quotes_of(nlp, STORY)
    raman = rows[-1]
    assert raman["text"] == '"Nobody has shown us a budget,"'
    assert raman["speaker_canonical"] == "Sarah Whitfield"
    assert raman["cue"] == "told"
    assert not any("green deal" in r["text"] for r in rows), "a quoted phrase inside a sentence is not speech"
    assert len(rows) == 5


def test_speaker_before_the_quote(nlp):
    text = 'Mayor Lena Okafor spoke after the vote.\n\nOkafor told the council: "The tram line will be finished."\n'
    (row,) = quotes_of(nlp, text)
    assert row["text"] == '"The tram line will be finished."'
    assert row["speaker"] == "Okafor"
    assert row["speaker_canonical"] == "Lena Okafor"
    assert row["cue"] == "told"


def test_multi_paragraph_quote(nlp):
    text = (
        "Daniel Ostrowski, the fire chief, described the night.\n\n"
        "Ostrowski said: “The first call came at midnight. We sent every truck we had.\n\n"
        "“By two o'clock the warehouse roof had gone. Nobody was inside, thank God.”\n\n"
        "The warehouse will be demolished.\n"
    )
    rows = quotes_of(nlp, text)
    assert [r["text"] for r in rows] == [
        "“The first call came at midnight. We sent every truck we had.",
        "“By two o'clock the warehouse roof had gone. Nobody was inside, thank God.”",
    ]
    assert {r["speaker_canonical"] for r in rows} == {"Daniel Ostrowski"}


def test_a_run_of_quoted_paragraphs_announced_by_a_colon(nlp):
    text = (
        "The report by the Harbour Trust ends with a warning:\n\n“Without new pumps, the next flood will be worse.”\n"
    )
    (row,) = quotes_of(nlp, text)
    assert row["speaker"] is not None and "report" in row["speaker"]


def test_doubled_apostrophes_and_headline_single_quotes(nlp):
    text = (
        "Okafor: 'We will not back down'\n\n"
        "Mayor Lena Okafor faced protesters on Friday. ''We are ready for them,'' Ms. Okafor said.\n"
    )
    rows = quotes_of(nlp, text)
    assert [r["text"] for r in rows] == ["'We will not back down'", "''We are ready for them,''"]
    assert [r["speaker_canonical"] for r in rows] == ["Lena Okafor", "Lena Okafor"]


@pytest.mark.parametrize(
    "text",
    [
        "Mayor Lena Okafor spoke on Friday.\n\n“The buses will run on time,”Ms. Okafor said.\n",
        "Mayor Lena Okafor spoke on Friday.\n\nMs. Okafor said,“The buses will run on time.”\n",
    ],
)
def test_quote_marks_glued_to_the_words_around_them(nlp, text):
    (row,) = quotes_of(nlp, text)
    assert row["text"].strip("“”,.") == "The buses will run on time"
    assert row["speaker_canonical"] == "Lena Okafor"


@pytest.mark.parametrize("gap", [" ", "", "\u00a0", " \u00a0"])  # without a space the dash stays in the mark's token
def test_signature_after_a_dash(nlp, gap):
    text = f"Readers wrote in.\n\n“The buses never come on time.”{gap}― Tomasz Wierzbicki\n"
    (row,) = quotes_of(nlp, text)
    assert row["speaker"] == "Tomasz Wierzbicki"


def test_a_paragraph_that_is_a_phrase_in_single_marks_is_a_subheading(nlp):
    text = (
        "The mine closed in May.\n\n'Legend in the Coal Fields.'\n\n"
        "Mayor Ines Farrow: 'We will build the park.'\n\n''We start in June,'' Farrow said.\n"
    )
    rows = quotes_of(nlp, text)
    assert [row["text"] for row in rows] == ["'We will build the park.'", "''We start in June,''"]


@pytest.mark.parametrize(
    ("headline", "speaker"),
    [
        ("Council leader on buses: ‘We need more routes.’", "Council leader"),
        ("Voters: 'We are going to win so much.'", "Voters"),  # the parse makes the lead-in its root
        ("A warning from Omar Haddad: 'Rates will rise again.'", "Omar Haddad"),
    ],
)
def test_a_headline_colon_gives_the_quote_to_who_leads_in(nlp, headline, speaker):
    (row,) = quotes_of(nlp, f"{headline}\n\nThe board meets on Thursday.\n")
    assert (row["speaker"], row["cue"]) == (speaker, ":")


def test_a_short_clause_after_a_quote_is_its_attribution_whatever_the_verb(nlp):
    text = "The depot stays shut.\n\n“The trams will run again in May,” an angry Lena Okafor retaliated.\n"
    (row,) = quotes_of(nlp, text)
    assert (row["speaker"], row["speaker_canonical"], row["cue"]) == (
        "an angry Lena Okafor",
        "Lena Okafor",
        "retaliated",
    )


def test_a_relative_pronoun_is_the_mention_and_its_antecedent_the_name(nlp):
    text = "The crowd cheered for Mara Lindqvist, who told them, “We are not done yet.”\n"
    (row,) = quotes_of(nlp, text)
    assert (row["speaker"], row["speaker_canonical"], row["cue"]) == ("who", "Mara Lindqvist", "told")


def test_a_cue_after_a_preposition_takes_the_subject_of_its_verb(nlp):
    text = "“Keep your hands in sight,” Dana Rowe sings to the crowd before asking them, “Where do we go from here?”\n"
    first, second = quotes_of(nlp, text)
    assert first["speaker"] == second["speaker"] == "Dana Rowe"
    assert second["cue"] == "asking"


def test_a_quoted_sentence_that_runs_on_into_the_text_goes_on_to_the_clause_end(nlp):
    text = (
        "Lena Okafor visited the depot.\n\n"
        "“We have never closed a line without telling people first” in this city, Okafor said on Monday.\n"
    )
    (row,) = quotes_of(nlp, text)
    assert row["text"] == "“We have never closed a line without telling people first” in this city"
    assert (row["speaker"], row["speaker_canonical"], row["cue"]) == ("Okafor", "Lena Okafor", "said")


def test_a_quoted_sentence_whose_attribution_follows_without_a_comma(nlp):
    text = "Lena Okafor visited the depot.\n\n“The tram network is a patchwork of small lines” Okafor said.\n"
    (row,) = quotes_of(nlp, text)
    assert row["text"] == "“The tram network is a patchwork of small lines”"
    assert (row["speaker"], row["speaker_canonical"], row["cue"]) == ("Okafor", "Lena Okafor", "said")


def test_a_reported_clause_that_opens_with_a_quotation_is_a_direct_quote(nlp):
    text = 'Tomasz Wierzbicki met the council.\n\n"The dam will hold" through the winter, Wierzbicki said.\n'
    rows = extract_document("d1", nlp(text))["quotes"]
    assert [(r["kind"], r["text"], r["speaker"]) for r in rows] == [
        ("direct", '"The dam will hold" through the winter', "Wierzbicki")
    ]
    # short and lower-case quoted phrases running on into the text stay what they were (scare quotes, titles)
    assert quotes_of(nlp, 'They call it the "tram of the future" in the city hall.\n') == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        '"',
        "“",
        "”",
        "''",
        "'",
        '"""',
        "“ “ ” ”",
        "He said “this never closes and the line just ends",
        "”A stray closer opens the paragraph.” And “another",
        'She said, "first, "second" and "third.',
        "“Unclosed in one paragraph\n\nand plain text in the next.",
        "“Nested ‘single “and double” marks’ never closed",
        "Rock 'n' roll and the '90s: students' fees, O'Brien's dog.",
        "''''''\n\n“”\n\n\"\"",
    ],
)
def test_unbalanced_quote_marks_never_crash(nlp, text):
    rows = quotes_of(nlp, text)
    for row in rows:
        assert row["end_char"] > row["start_char"]


def test_unclosed_quote_runs_to_the_end_of_its_paragraph(nlp):
    text = "Paul Dunmore, a farmer, was angry. “They never asked us, not once,” Dunmore said. “Nobody came\n\nLater."
    rows = quotes_of(nlp, text)
    assert rows[-1]["text"] == "“Nobody came"
    assert rows[-1]["speaker_canonical"] == "Paul Dunmore"


def test_pairing_alone_finds_outer_quotes_only():
    text = '"The sign said \u201cclosed\u201d all week," she said.'
    (quote,) = find_quotes(text)
    assert text[quote.start : quote.end] == '"The sign said \u201cclosed\u201d all week,"'


def test_long_texts_in_pieces_keep_offsets(nlp):
    text = "\n\n".join([STORY] * 6)
    pieces = [(offset, nlp(piece)) for offset, piece in chunks(text, 1500)]
    assert len(pieces) > 1
    rows = extract_document("d2", join(pieces))["quotes"]
    check_offsets(text, rows)
    rows = [r for r in rows if r["kind"] == "direct"]
    assert len(rows) == 6 * 5
    assert {r["speaker_canonical"] for r in rows if r["speaker"] == "Miller"} == {"Matthew Miller"}


def test_quote_views(sample_lake):
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        top = con.execute(
            "select speaker, sum(quotes) as n from quotes_by_speaker_daily group by speaker order by n desc limit 1"
        ).fetchone()
        rows = con.execute(
            "select s.quote, s.title, s.source_path, s.start_char, d.text from speaker_quotes as s "
            "inner join documents as d using (doc_id) where s.speaker = ?",
            [top[0]],
        ).fetchall()
    assert top[1] >= 2
    assert len(rows) == top[1]
    for quote, title, source_path, start, text in rows:
        assert title and source_path.endswith(".txt")
        assert text[start : start + len(quote)] == quote


# --- reported speech ---------------------------------------------------------------------------------------


def reported(nlp, text):
    return quotes_of(nlp, text, kind="indirect")


def test_reported_clause_after_the_cue_with_its_speaker(nlp):
    text = "Mayor Lena Okafor opened the tram depot.\n\nOkafor said the city would buy twelve more trams next year.\n"
    (row,) = reported(nlp, text)
    assert row["text"] == "the city would buy twelve more trams next year"
    assert (row["speaker"], row["speaker_canonical"], row["cue"]) == ("Okafor", "Lena Okafor", "said")
    assert row["confidence"] == 0.9


def test_reported_clause_before_the_cue_and_that_clauses(nlp):
    text = (
        "The harbour bridge will stay closed until March, a city spokeswoman said on Monday.\n\n"
        "Engineer Tomasz Wierzbicki told reporters that the pumps had failed twice.\n"
    )
    first, second = reported(nlp, text)
    assert first["text"] == "The harbour bridge will stay closed until March"
    assert first["speaker"] == "a city spokeswoman"
    assert second["text"] == "that the pumps had failed twice"
    assert second["speaker_canonical"] == "Tomasz Wierzbicki" and second["cue"] == "told"


def test_according_to(nlp):
    text = "According to the fire brigade, nobody was hurt in the warehouse fire.\n"
    (row,) = reported(nlp, text)
    assert row["text"] == "nobody was hurt in the warehouse fire"
    assert row["speaker"] == "the fire brigade" and row["cue"] == "according to"


def test_pronoun_speaker_resolves_to_the_name(nlp):
    text = "Paul Dunmore farms near the river.\n\nHe said the flood had ruined his whole barley harvest.\n"
    (row,) = reported(nlp, text)
    assert row["speaker"] == "He" and row["speaker_canonical"] == "Paul Dunmore"


def test_name_and_colon_opening_a_paragraph(nlp):
    text = "Sarah Whitfield: We will not sign this budget.\n"
    (row,) = reported(nlp, text)
    assert row["text"] == "We will not sign this budget"
    assert row["speaker"] == "Sarah Whitfield" and row["cue"] == ":"


def test_direct_quotes_are_not_reported_speech_too(nlp):
    text = '"The trams are late again," said Okafor.\n\nOkafor said: "We will fix the timetable."\n'
    rows = extract_document("d1", nlp(text))["quotes"]
    assert [r["kind"] for r in rows] == ["direct", "direct"]


def test_a_clause_reported_inside_another_is_part_of_it(nlp):
    text = "Dunmore said his neighbour told him the dam would hold.\n"
    (row,) = reported(nlp, text)
    assert row["text"] == "his neighbour told him the dam would hold"
    assert row["cue"] == "said"


def test_a_speech_verb_set_in_its_contents_clause(nlp):
    text = "Acts of protest, Lena Okafor said, are acts of patriotism.\n\nOkafor said, the bridge is safe for trams.\n"
    rows = reported(nlp, text)
    assert [(r["text"], r["speaker"], r["cue"]) for r in rows] == [
        ("Acts of protest", "Lena Okafor", "said"),  # one content in two pieces, as the gold counts them
        ("are acts of patriotism", "Lena Okafor", "said"),
        ("the bridge is safe for trams", "Okafor", "said"),
    ]


def test_a_second_speech_verb_inside_the_content_reports_on_its_own(nlp):
    text = "Wierzbicki said the old pumps had failed twice and told reporters that the dam would hold.\n"
    rows = reported(nlp, text)
    assert [(r["text"], r["speaker"], r["cue"]) for r in rows] == [
        ("the old pumps had failed twice", "Wierzbicki", "said"),
        ("that the dam would hold", "Wierzbicki", "told"),  # the first cue's speaker, not "the old pumps"
    ]


def test_what_seems_is_part_of_the_content(nlp):
    rows = reported(nlp, "The tram drivers seemed to accept the new timetable.\n")
    assert [(r["text"], r["cue"]) for r in rows] == [
        ("The tram drivers", "seemed"),
        ("to accept the new timetable", "seemed"),
    ]
    assert rows[0]["speaker"] is None  # nobody is said to have said it


def test_a_relative_clause_set_off_at_the_end_is_not_what_was_reported(nlp):
    text = "Okafor said the council had backed Mara Lindqvist, who runs the tram depot.\n"
    (row,) = reported(nlp, text)
    assert row["text"] == "the council had backed Mara Lindqvist"
    (row,) = reported(nlp, text.replace(",", ""))  # not set off: it says which Lindqvist, and stays
    assert row["text"] == "the council had backed Mara Lindqvist who runs the tram depot"


def test_an_object_keeps_the_phrase_that_says_what_it_is_praised_or_cited_for(nlp):
    rows = reported(nlp, "The council praised Okafor for reopening the tram depot.\n")
    assert [(r["text"], r["speaker"]) for r in rows] == [("Okafor for reopening the tram depot", "The council")]
    rows = reported(nlp, "Wierzbicki pointed to the old pumps as the main cause of the flood.\n")
    assert [r["text"] for r in rows] == ["the old pumps as the main cause of the flood"]
    rows = reported(nlp, "The mayor called Okafor a liar for delaying the trams.\n")
    assert [r["text"] for r in rows] == ["Okafor a liar for delaying the trams"]  # the object and what it is called


def test_a_clause_saying_when_or_why_is_not_what_was_said(nlp):
    rows = reported(nlp, "While the council met, the drivers said they would strike.\n")
    assert [r["text"] for r in rows] == ["they would strike"]  # not "While the council met"


def test_according_to_between_two_pieces_reports_both(nlp):
    rows = reported(nlp, "The plan, according to the fire brigade, is sound.\n")
    assert [(r["text"], r["speaker"]) for r in rows] == [
        ("The plan", "the fire brigade"),
        ("is sound", "the fire brigade"),
    ]


def test_a_passive_cue_speaks_through_its_agent(nlp):
    (row,) = reported(nlp, "The tram plan was criticized by residents.\n")
    assert (row["text"], row["cue"], row["speaker"]) == ("The tram plan", "criticized", "residents")


def test_a_subject_the_parser_took_for_a_modifier_still_speaks(nlp):
    text = "About 4 in 10 say they want the next mayor to build more tram lines.\n"
    (row,) = reported(nlp, text)
    assert (row["speaker"], row["cue"]) == ("About 4 in 10", "say")


def test_the_learned_scorer_reports_what_the_lexicon_lacks(nlp):
    text = "The union leader slammed the new timetable.\n"
    part = Part("d1", nlp(text))
    assert by_rules(part, _Tokens(part), [], set()) == []  # "slammed" is in no word list
    (row,) = reported(nlp, text)
    assert (row["text"], row["cue"], row["speaker"]) == ("the new timetable", "slammed", "The union leader")
    assert reported_scorer.model()[2] <= row["confidence"] < 0.9  # the scorer's probability, at least its threshold


def test_no_cue_no_reported_speech(nlp):
    assert reported(nlp, "The tram depot opened on Monday with twelve new trams.\n") == []


@pytest.mark.parametrize(
    ("sentence", "needed"),
    [
        ("Okafor said the trams were late.", True),
        ("According to the brigade, nobody was hurt.", True),
        ("He called for new talks.", True),
        ("“We will win.”", True),
        ("Rain fell all night in the valley.", False),
        ("", False),
    ],
)
def test_needs_parse(sentence, needed):
    assert needs_parse(sentence) is needed


def test_quote_views_count_both_kinds(sample_lake):
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        lake = dict(con.execute("select kind, count(*) from quotes where speaker is not null group by kind").fetchall())
        daily = dict(con.execute("select kind, sum(quotes) from quotes_by_speaker_daily group by kind").fetchall())
        listed = dict(con.execute("select kind, count(*) from speaker_quotes group by kind").fetchall())
    assert set(lake) == {"direct", "indirect"}
    assert daily == lake == listed


def test_a_text_spacy_only_tokenized_has_no_reported_speech(nlp):
    doc = nlp.make_doc("Okafor said the trams were late.")  # what analysis keeps when the parser fails
    assert extract_document("d1", doc)["quotes"] == []


@pytest.mark.unit
def test_spans_answer_as_a_scan_would():
    from pipeline.extract.reported import Spans

    spans = [(10, 20), (0, 50), (60, 70), (65, 66)]  # overlapping, unsorted
    lookup = Spans(spans)
    for char in range(-1, 80):
        assert lookup.covers(char) == any(a <= char < b for a, b in spans), char
    for start in range(-1, 80, 3):
        for end in range(start + 1, 82, 5):
            assert lookup.overlaps(start, end) == any(a < end and start < b for a, b in spans), (start, end)
    assert not Spans([]).covers(0) and not Spans([]).overlaps(0, 5)

"""Datelines: the place, date and wire service that open a story, found only where they are."""

import pytest

from pipeline.extract.datelines import dateline_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "dateline", "place", "date_text", "source"),
    [
        ("Budget passes\n\nWASHINGTON, Feb 26 - The U.S. said", "WASHINGTON, Feb 26 -", "WASHINGTON", "Feb 26", None),
        ("LONDON (Reuters) - Shares fell.", "LONDON (Reuters) -", "LONDON", None, "Reuters"),
        (
            "TOKYO, Nov 24 (Northfield Wire) - Japan's",
            "TOKYO, Nov 24 (Northfield Wire) -",
            "TOKYO",
            "Nov 24",
            "Northfield Wire",
        ),
        (
            "Results\n\nALBANY, N.Y., March 17 - Shr 70 cts",
            "ALBANY, N.Y., March 17 -",
            "ALBANY, N.Y.",
            "March 17",
            None,
        ),
        ("ST. LOUIS, Sept. 3 - Prices rose", "ST. LOUIS, Sept. 3 -", "ST. LOUIS", "Sept. 3", None),
        ("AMSTERDAM, 2 March - The bank", "AMSTERDAM, 2 March -", "AMSTERDAM", "2 March", None),
        ("Toronto, Feb 26 - Trustco said", "Toronto, Feb 26 -", "Toronto", "Feb 26", None),
        ("RUGBY - RESULTS .\nCARDIFF 1996-08-30\nWales won .", "CARDIFF 1996-08-30", "CARDIFF", "1996-08-30", None),
    ],
)
def test_dateline_forms(text, dateline, place, date_text, source):
    found = dateline_of(text)
    assert found is not None
    assert (found["dateline"], found["place"], found["date_text"], found["source"]) == (
        dateline,
        place,
        date_text,
        source,
    )
    assert text[found["start_char"] : found["end_char"]] == dateline


@pytest.mark.parametrize(
    "text",
    [
        "",
        "BREAKING - markets fall",  # a headline with a dash: no date, no source
        "Chairman Smith (CEO) - said nothing",  # a source-like bracket after a name not in capitals
        "A story with no dateline.\n\nIt starts with a sentence - like this one.",
        "One\n\nTwo\n\nThree\n\nFour\n\nFive\n\nPARIS, May 2 - too far down to be the dateline",
    ],
)
def test_no_dateline(text):
    assert dateline_of(text) is None

"""The dateline that opens a wire story: where (and often when) it was filed, and by which service.

Forms recognised, at the start of one of the first lines of the text:

    WASHINGTON, Feb 26 - ...              place, date
    ALBANY, N.Y., March 17 - ...          place with its state, date
    LONDON (Reuters) - ...                place, source
    TOKYO, Nov 24 (Northfield Wire) - ... place, date, source
    LONDON 1996-08-30                     place and an ISO date alone on their line
"""

from __future__ import annotations

import re
from typing import Any

MONTH = (
    r"(?i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
# Capitalised words, with the dots, hyphens and apostrophes of place names ("ST. LOUIS", "Winston-Salem").
CAPS_PLACE = r"[A-Z][\w.'’\-]*(?:\s[A-Z][\w.'’\-]*)*"
# What may follow the city after a comma: a state or country, abbreviated ("N.Y.", "Calif.") or written out.
REGION = r"(?:[A-Z][A-Za-z.'’\-]*(?:\s[A-Z][A-Za-z.'’\-]*)*)"
DASH = r"\s*(?:-+|–|—)(?=\s|$)"

WIRE = re.compile(
    rf"(?P<place>{CAPS_PLACE}(?:\s?,\s?{REGION}(?=\s?,?\s?{MONTH}|\s?\(|{DASH}))?)"
    rf"(?:\s?,?\s?(?P<date>{MONTH}\s+\d{{1,2}}|\d{{1,2}}\s+{MONTH}))?"
    rf"(?:\s?\((?P<source>[^()\n]{{1,60}})\))?"
    rf"{DASH}"
)
ISO_LINE = re.compile(
    rf"(?P<place>{CAPS_PLACE}(?:\s?,\s?{REGION})?)\s+(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?P<source>)\s*$"
)
FIRST_LINES = 4  # a dateline follows at most a headline or two


def dateline_of(text: str) -> dict[str, Any] | None:
    """The dateline's text, place, date text, source and character span, or None when the story has none.

    A candidate needs a date beside the place, or a source beside a place in capitals: "BREAKING - ..." alone
    is a headline, and "Chairman Smith (CEO) - ..." is not a place.
    """
    position = 0
    for n, line in enumerate(text.split("\n")):
        if n >= FIRST_LINES * 2:  # blank lines between paragraphs count here too
            break
        stripped = line.lstrip()
        start = position + len(line) - len(stripped)
        position += len(line) + 1
        match = WIRE.match(stripped) or ISO_LINE.match(stripped)
        if match and (match.group("date") or (match.group("source") and match.group("place").isupper())):
            return {
                "dateline": match.group(0).strip(),
                "place": " ".join(match.group("place").split()),
                "date_text": match.group("date"),
                "source": (match.group("source") or "").strip() or None,
                "start_char": start,
                "end_char": start + len(match.group(0).rstrip()),
            }
    return None

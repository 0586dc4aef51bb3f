"""The headline: news files open with a title line followed by a blank line."""

from __future__ import annotations

MAX_TITLE_CHARS = 250


def title_of(text: str) -> str | None:
    lines = text.lstrip().split("\n", 2)
    if len(lines) < 2 or lines[1].strip():
        return None
    title = lines[0].strip()
    return title if 0 < len(title) <= MAX_TITLE_CHARS else None

"""The language a document is written in, so stories the English model cannot read are flagged, not misread.

CLD2 (the `pycld2` package: Chromium's compact language detector, a C library with its tables built in) needs no
download and costs about 0.1 ms per news story, nothing next to spaCy's 50 ms or so.
"""

from __future__ import annotations

import re

import pycld2

UNDETERMINED = "und"  # ISO 639-2's code for "undetermined": too short, no letters, or nothing CLD2 knows
SAMPLE_CHARS = 20_000  # the opening of a long text says as much as all of it
MIN_PERCENT = 50  # the top language must cover at least half the text
MIN_TEXT_SHARE = 0.5  # and CLD2 must find words in at least half of the bytes
# CLD2's codes that differ from ISO 639-1
RENAMED = {"iw": "he", "jw": "jv", "in": "id"}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's main language ("en", "de", "zh"...), or "und" if it cannot tell."""
    # CLD2 rejects control characters and lone surrogates; neither says anything about the language
    sample = CONTROL.sub(" ", text[:SAMPLE_CHARS]).encode("utf-8", "ignore")
    try:
        reliable, found, details = pycld2.detect(sample, bestEffort=True)
    except pycld2.error:
        return UNDETERMINED
    if not reliable or found < MIN_TEXT_SHARE * len(sample):  # mostly not words: numbers, tables, noise
        return UNDETERMINED
    _, code, percent, _ = details[0]
    code = code.split("-")[0].lower()  # zh-Hant -> zh
    # Noise such as a base64 dump "looks Danish" in under half of its text, sometimes even "reliably".
    if percent < MIN_PERCENT or code in {"un", "xx", ""}:
        return UNDETERMINED
    return RENAMED.get(code, code)


def model_reads(language: str, model_language: str = "en") -> bool:
    """Whether a model for model_language should analyse the text: the same language, or undetermined.

    Undetermined texts (tables, a name and a number) are mostly language-neutral: better analysed than dropped.
    """
    return language in (model_language, UNDETERMINED)

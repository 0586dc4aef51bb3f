"""Bytes -> text: pick the encoding, or say in words why the bytes are not an article."""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Share of non-ASCII bytes under which a non-UTF-8 file is taken as Windows-1252: Western news with pound
# signs, curly quotes, dashes or accents. Statistical detectors guess wildly (Shift-JIS, cp852...) on so little
# evidence; text in Cyrillic, Greek or CJK single- and multi-byte encodings is mostly high bytes.
FEW_HIGH_BYTES = 0.3
MAX_CONTROL_SHARE = 0.01


HTML_PAGE = re.compile(r"\s*<(!doctype\s+html|html[\s>])", re.IGNORECASE)


class NotText(Exception):
    """The bytes are not a readable article; the message is the reject reason."""


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding). Text has the BOM removed and CRLF turned into LF, nothing else."""
    if not data:
        raise NotText("empty file")
    text, encoding = _decode(data)
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise NotText("no text: file holds only whitespace")
    if HTML_PAGE.match(text):
        raise NotText("HTML page, not a plain-text article")
    if "\x00" in text:
        raise NotText("binary content: NUL bytes in the text")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    if controls > MAX_CONTROL_SHARE * len(text):
        raise NotText(f"binary content: {controls} control characters in {len(text)}")
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff"), encoding.replace("-sig", "") + " (BOM)"
            except UnicodeDecodeError:
                raise NotText(f"undecodable: has a {encoding} byte-order mark but is not {encoding}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    high = sum(1 for byte in data if byte > 0x7F)
    if b"\x00" not in data and high <= FEW_HIGH_BYTES * len(data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    if best is None:
        raise NotText("binary content: no text encoding fits")
    return str(best), best.encoding

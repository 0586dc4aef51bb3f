import codecs
import os

import pytest

from pipeline.decode import NotText, decode

pytestmark = pytest.mark.unit

ARTICLE = "Rates rise again\n\nLONDON, Nov 24 - The bank raised “rates” to 5%, costing £40 a month.\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ARTICLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ARTICLE.encode("utf-8"), "utf-8 (BOM)"),
        (ARTICLE.encode("utf-16"), "utf-16 (BOM)"),
        (ARTICLE.encode("cp1252"), "cp1252"),
    ],
)
def test_decodes_text_and_names_the_encoding(data, encoding):
    text, used = decode(data)
    assert text == ARTICLE
    assert used == encoding


def test_only_bom_and_crlf_are_changed():
    text, _ = decode(codecs.BOM_UTF8 + b"Title\r\n\r\nBody line\r\nlone\rcarriage\n")
    assert text == "Title\n\nBody line\nlone\rcarriage\n"


def test_latin1_pound_sign_is_not_mistaken_for_japanese():
    text, encoding = decode("Chelsea pay £5m for striker\n\nThe club paid £5m.".encode("latin-1"))
    assert "£5m" in text
    assert encoding == "cp1252"


def test_russian_cp1251_is_detected():
    russian = "Центральный банк повысил ключевую ставку до шестнадцати процентов годовых. " * 5
    text, _ = decode(russian.encode("cp1251"))
    assert text == russian


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\n  ", "only whitespace"),
        (b"Some text\x00with NUL\x00bytes inside", "NUL bytes"),
        (os.urandom(4096) + b"\x00", "binary"),
        (bytes(range(1, 9)) * 100, "control characters"),
    ],
)
def test_not_text_is_refused_with_a_reason(data, reason):
    with pytest.raises(NotText, match=reason):
        decode(data)


def test_an_html_page_is_not_an_article():
    with pytest.raises(NotText, match="HTML page"):
        decode(b"\n  <!DOCTYPE html>\n<html><body><p>Story</p></body></html>")
    text, _ = decode(b"Tags in copy\n\nThe <b> tag is bold, said the <html> guide.")
    assert text.startswith("Tags")


def test_short_typographic_cp1252_is_not_mistaken_for_a_dos_code_page():
    text = "Rates\n\nThe bank’s “pause” – analysts said – is over. Cost: €5.\n"
    assert decode(text.encode("cp1252")) == (text, "cp1252")

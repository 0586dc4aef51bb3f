"""Language detection: the main language's ISO 639-1 code, 'und' when the text cannot tell, and cheap."""

import random
import time

import pytest

from pipeline.extract.language import UNDETERMINED, detect_language, model_reads

pytestmark = pytest.mark.unit

TEXTS = {
    "en": "The government presented a new budget on Tuesday that trims spending by twelve billion euros.",
    "de": "Die Bundesregierung hat am Dienstag einen neuen Haushaltsentwurf vorgelegt, der Einsparungen vorsieht.",
    "fr": "Le gouvernement a présenté mardi un nouveau projet de budget qui prévoit des économies importantes.",
    "es": "El gobierno presentó el martes un nuevo proyecto de presupuesto que prevé ahorros importantes.",
    "ru": "Правительство во вторник представило новый проект бюджета, предусматривающий экономию.",
    "ja": "政府は火曜日、歳出削減を盛り込んだ新たな予算案を提示した。",
    "zh": "政府周二提出了新的预算草案，计划节省一百二十亿欧元的开支。",
}


@pytest.mark.parametrize(("code", "text"), TEXTS.items())
def test_detects_common_languages(code, text):
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "   \n", "12 345 6.78", "--- *** ---"])
def test_undetermined_when_there_is_nothing_to_read(text):
    assert detect_language(text) == UNDETERMINED


def test_control_characters_and_broken_surrogates_do_not_fail():
    assert detect_language("Bad bytes \x00\x01 and \udcff inside an English sentence about the budget.") == "en"


def test_which_texts_the_english_model_reads():
    assert model_reads("en") and model_reads(UNDETERMINED)
    assert not model_reads("de")


def test_costs_next_to_nothing():
    text = " ".join(TEXTS["en"] for _ in range(25))  # about 2,400 characters, a typical story
    detect_language(text)
    start = time.perf_counter()
    for _ in range(200):
        detect_language(text)
    per_doc = (time.perf_counter() - start) / 200
    assert per_doc < 0.002, f"{per_doc * 1e6:.0f} µs per document"  # spaCy takes about 50 ms


def test_noise_without_a_language_is_undetermined_so_it_is_analysed():
    rng = random.Random(3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for _ in range(5):
        dump = "\n".join("".join(rng.choice(alphabet) for _ in range(76)) for _ in range(200))
        assert detect_language(dump) == "und"

"""The charts' specs and the document markup: pure functions, no lake."""

import re
from datetime import date, timedelta

import pytest

from pipeline.extract.entities import NAME_LABELS
from pipeline.web import charts
from pipeline.web.markup import Span, marked, spans

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 1)


def series(n: int, *queries: str) -> dict:
    return {q: [{"date": DAY + timedelta(i), "share": i / 100, "matching": i} for i in range(n)] for q in queries}


def test_every_name_label_has_one_colour_and_they_differ():
    assert set(charts.LABEL_COLOURS) == set(NAME_LABELS)
    assert len(set(charts.LABEL_COLOURS.values())) == len(charts.LABEL_COLOURS)


def test_attention_spec_has_titles_a_date_per_day_and_a_colour_per_query():
    spec = charts.attention_spec(series(30, "gaza", "aid"), DAY, DAY + timedelta(29))
    assert spec["title"]["text"] == "Attention over time"
    x, y, colour = (spec["encoding"][k] for k in ("x", "y", "color"))
    assert x["axis"]["title"] == "Date" and y["axis"]["title"]
    assert x["scale"]["domain"][0] == "2026-11-01" and len(x["scale"]["domain"]) == 30
    assert x["axis"]["labelOverlap"] == "greedy"
    assert colour["scale"]["domain"] == ["gaza", "aid"]
    assert colour["scale"]["range"] == list(charts.QUERY_COLOURS[:2])


def test_thirty_dates_render_as_labels_that_do_not_overlap():
    """vl-convert lays the chart out: the labels it keeps visible sit apart from each other."""
    svg = charts.svg(charts.attention_spec(series(30, "gaza"), DAY, DAY + timedelta(29)))
    axis = re.search(r'aria-label="X-axis.*?role-axis-domain', svg, re.S)[0]
    shown = [
        (float(x), text)
        for x, opacity, text in re.findall(
            r'translate\(([\d.]+),\d+\) rotate\(315\)[^>]*opacity="([\d.]+)"[^>]*>([^<]+)<', axis
        )
        if float(opacity) > 0
    ] or [(float(x), text) for x, text in re.findall(r"translate\(([\d.]+),\d+\) rotate\(315\)[^>]*>([^<]+)<", axis)]
    assert shown[0][1] == "Nov 01"
    assert len(shown) >= 10, "at least every third date is labelled"
    gaps = [b[0] - a[0] for a, b in zip(shown, shown[1:], strict=False)]
    assert min(gaps) >= 12, "11px labels at 45° need 12 px or more between them"
    assert "<script" not in svg and "href=" not in svg


def test_entities_spec_colours_bars_by_the_shared_label_colours():
    top = [
        {"canonical": "Clara Hoffmann", "label": "PERSON", "mentions": 9},
        {"canonical": "Berlin", "label": "GPE", "mentions": 4},
    ]
    spec = charts.entities_spec(top, "Top entities", "a range")
    scale = spec["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "PERSON": charts.LABEL_COLOURS["PERSON"],
        "GPE": charts.LABEL_COLOURS["GPE"],
    }
    assert spec["encoding"]["x"]["axis"]["title"] == "Mentions"


def test_a_sparkline_has_a_point_per_day_zero_on_days_without_mentions():
    svg = charts.sparkline([{"date": DAY + timedelta(2), "mentions": 5}], DAY, DAY + timedelta(4), "#000")
    points = re.search(r'points="([^"]+)"', svg)[1].split()
    assert len(points) == 5
    assert [float(p.split(",")[1]) for p in points].count(22.0) == 4  # the baseline: height - 2


TEXT = 'Clara Hoffmann said: "Berlin will pay." Brandt said no.'


def test_marked_wraps_entities_inside_quotes_and_escapes_the_text():
    entities = [
        {
            "start_char": 0,
            "end_char": 14,
            "label": "PERSON",
            "canonical": "Clara Hoffmann",
            "canonical_key": "clara hoffmann",
            "is_name": True,
        },
        {
            "start_char": 22,
            "end_char": 28,
            "label": "GPE",
            "canonical": "Berlin",
            "canonical_key": "berlin",
            "is_name": True,
        },
    ]
    quotes = [
        {
            "start_char": 21,
            "end_char": 39,
            "speaker": "Clara Hoffmann",
            "speaker_canonical": "Clara Hoffmann",
            "speaker_start_char": 0,
            "speaker_end_char": 14,
            "kind": "direct",
        }
    ]
    html = marked(TEXT, spans(entities, quotes, link=lambda q: f"/news?q={q}"))
    assert re.sub(r"<[^>]+>", "", html).startswith("Clara HoffmannPERSONspeaker said:")
    assert '<q class="quote" title="said by Clara Hoffmann"><mark class="entity" data-label="GPE"' in html
    assert "— Clara Hoffmann (direct)" in html
    assert 'href="/news?q=speaker:&quot;Clara Hoffmann&quot;"' not in html  # the inner entity link wins on the name
    assert html.count("<a ") == 2 and "<a <a" not in html
    assert "will pay.&quot;" in html  # the text is escaped


def test_marked_ignores_spans_outside_the_text_and_keeps_every_character():
    html = marked("a < b", [Span(0, 1, "entity", "ORG"), Span(3, 99, "entity", "ORG")])
    assert re.sub(r"<[^>]+>", "", html).replace("ORG", "") == "a &lt; b"

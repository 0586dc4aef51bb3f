"""The charts: Vega-Lite specs built with altair, rendered on the server by vl-convert (SVG for pages, PNG
for slides). No JavaScript reaches the browser: a page carries the SVG inline.

Readability rules, in one place: every chart has a title and axis titles, dates on x as "Nov 24" with
labels thinned by Vega-Lite's overlap removal (30 dates fit), one colour per entity label (LABEL_COLOURS)
and per compared query (QUERY_COLOURS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

# One colour per entity label (those of pipeline/extract/entities.NAME_LABELS: a unit test checks they match),
# everywhere (charts, document markup, legends). The frequent labels (PERSON, ORG, GPE, NORP, LOC) come from
# Okabe and Ito's colour-blind-safe palette.
LABEL_COLOURS: dict[str, str] = {
    "PERSON": "#0072B2",
    "ORG": "#E69F00",
    "GPE": "#009E73",
    "NORP": "#CC79A7",
    "LOC": "#56B4E9",
    "FAC": "#D55E00",
    "EVENT": "#8C564B",
    "PRODUCT": "#7F7F7F",
    "WORK_OF_ART": "#BCBD22",
    "LAW": "#17BECF",
    "LANGUAGE": "#9467BD",
}
OTHER_COLOUR = "#999999"  # a label outside NAME_LABELS (never in the name views; kept for safety)
QUERY_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")  # the compared queries, in the order typed
WIDTH, HEIGHT = 640, 260
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# Dates on x as an ordinal axis of ISO days (one band per day, no time zone to shift them), shown "Nov 24",
# at 45°, thinned by Vega-Lite where they would overlap (30 dates fit on WIDTH).
DATE_AXIS = {
    "labelExpr": "utcFormat(toDate(datum.value), '%b %d')",
    "labelAngle": -45,
    "labelOverlap": "greedy",
    "labelSeparation": 3,
    "title": "Date",
}


def label_colour(label: str | None) -> str:
    return LABEL_COLOURS.get(label or "", OTHER_COLOUR)


def days(since: date, until: date) -> list[str]:
    """Every date of the range, ISO: the x axis has a place for each, with or without data."""
    return [date.fromordinal(n).isoformat() for n in range(since.toordinal(), until.toordinal() + 1)]


def label_order(label: str) -> int:
    """Labels in the order of LABEL_COLOURS (legends, tables), unknown ones last."""
    return list(LABEL_COLOURS).index(label) if label in LABEL_COLOURS else len(LABEL_COLOURS)


def _config(chart: Any) -> Any:
    return (
        chart.configure(font=FONT)
        .configure_title(fontSize=15, anchor="start")
        .configure_axis(labelFontSize=11, titleFontSize=12)
        .configure_legend(labelFontSize=11, titleFontSize=12, labelLimit=260)
        .configure_view(stroke=None)
    )


def attention_spec(series: Mapping[str, Sequence[Mapping[str, Any]]], since: date, until: date) -> dict[str, Any]:
    """Lines per query: the share of the date's documents that match it."""
    import altair as alt

    values = [
        {"date": row["date"].isoformat(), "query": query, "share": row["share"], "matching": row["matching"]}
        for query, days in series.items()
        for row in days
    ]
    queries = list(series)
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_line(point=alt.OverlayMarkDef(size=28), strokeWidth=2)
        .encode(
            x=alt.X("date:O", axis=alt.Axis(**DATE_AXIS), scale=alt.Scale(domain=days(since, until))),
            y=alt.Y("share:Q", axis=alt.Axis(format="%", title="Share of the day's documents")),
            color=alt.Color(
                "query:N",
                scale=alt.Scale(domain=queries, range=list(QUERY_COLOURS[: len(queries)])),
                legend=alt.Legend(title="Query", orient="bottom"),
            ),
        )
        .properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.TitleParams("Attention over time", subtitle=f"documents matching each query, {since} to {until}"),
        )
    )
    return _config(chart).to_dict()


def entities_spec(entities: Sequence[Mapping[str, Any]], title: str, subtitle: str) -> dict[str, Any]:
    """Horizontal bars: mentions per entity, coloured by label, most mentioned on top."""
    import altair as alt

    values = [{"name": e["canonical"], "label": e["label"], "mentions": e["mentions"]} for e in entities]
    labels = sorted({e["label"] for e in entities}, key=label_order)
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X("mentions:Q", axis=alt.Axis(title="Mentions", tickMinStep=1)),
            y=alt.Y("name:N", sort="-x", axis=alt.Axis(title=None, labelLimit=220)),
            color=alt.Color(
                "label:N",
                scale=alt.Scale(domain=labels, range=[label_colour(label) for label in labels]),
                legend=alt.Legend(title="Label", orient="right"),
            ),
        )
        .properties(
            width=WIDTH - 220, height=max(60, 18 * len(values)), title=alt.TitleParams(title, subtitle=subtitle)
        )
    )
    return _config(chart).to_dict()


def warm_up() -> None:
    """Import altair and start vl-convert's engine (seconds, once per process)."""
    svg(entities_spec([{"canonical": "warm-up", "label": "ORG", "mentions": 1}], "warm-up", ""))


def svg(spec: dict[str, Any]) -> str:
    """The chart as an SVG document (to inline in a page: no script, no external reference)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def png(spec: dict[str, Any], scale: float = 2) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale)


def sparkline(
    series: Sequence[Mapping[str, Any]], since: date, until: date, colour: str, width: int = 120, height: int = 24
) -> str:
    """A tiny inline SVG of mentions per date (zero on days without): drawn here, not by Vega, because a
    table of fifteen of them must cost nothing."""
    days = (until - since).days
    by_day = {row["date"]: row["mentions"] for row in series}
    top = max(by_day.values(), default=0) or 1
    points = []
    for n in range(days + 1):
        value = by_day.get(date.fromordinal(since.toordinal() + n), 0)
        x = 1 + (width - 2) * (n / days if days else 0.5)
        y = height - 2 - (height - 4) * value / top
        points.append(f"{x:.1f},{y:.1f}")
    return (
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="mentions per day, peak {top}">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(points)}"/></svg>'
    )

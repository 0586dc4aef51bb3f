"""The pages as HTML: page data (data.py) through the jinja2 templates in templates/, charts inline as SVG.

`root` is the URL prefix of the app's links (`""` under `news-etl serve`, `/news-etl` inside Airflow), or None
for the static report of `news-etl report`, which links to nothing: one file that opens offline.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import jinja2

from pipeline.config import Settings
from pipeline.search.lookup import MARK
from pipeline.web import charts, data
from pipeline.web.markup import marked, spans

SNIPPET_MARK = re.compile(re.escape(MARK) + "(.*?)" + re.escape(MARK))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["colour"] = charts.label_colour
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def message(title: str, text: str, root: str | None, error: bool = False) -> str:
    return render("message.html", title=title, message=text, root=root, error=error)


def chart_svg(settings: Settings, key: tuple, spec: dict[str, Any]) -> str:
    """The spec as inline SVG, rendered once per database build (vl-convert takes a few hundred ms)."""
    return data.cached(settings, ("svg", *key), lambda: charts.svg(spec))


def report_page(
    settings: Settings,
    day: date,
    root: str | None,
    tasks: list[dict[str, Any]] | None = None,
    airflow_run: str | None = None,
    lake_run: str | None = None,
) -> str:
    report = data.run_report(settings, day, tasks)
    svg = ""
    if report.entities:
        spec = charts.entities_spec(report.entities, f"Top entities of {day}", "mentions of each name that day")
        svg = chart_svg(settings, ("report-entities", day), spec)
    return render(
        "report.html",
        title=f"Run report {day}",
        r=report,
        root=root,
        entities_svg=svg,
        dates=data.committed_dates(settings) if root is not None else [],
        airflow_run=airflow_run,
        lake_run=lake_run,
    )


def news_page(settings: Settings, root: str, queries: list[str], since: date | None, until: date | None) -> str:
    if since is None or until is None:
        first, last = data.default_range(settings)
        since, until = since or first, until or last
    news = data.news(settings, since, until, queries)
    svg = ""
    if news.attention:
        spec = charts.attention_spec(news.attention, since, until)
        svg = chart_svg(settings, ("attention", tuple(news.attention), since, until), spec)

    def spark(entity: dict[str, Any]) -> str:
        return charts.sparkline(entity["series"], since, until, charts.label_colour(entity["label"]))

    return render(
        "news.html",
        title="News",
        n=news,
        root=root,
        attention_svg=svg,
        max_queries=data.MAX_QUERIES,
        spark=spark,
        snippet=snippet_html,
    )


def snippet_html(text: str) -> str:
    """A search snippet with its **matched** words in bold, the rest escaped."""
    return SNIPPET_MARK.sub(lambda m: f"<b>{m[1]}</b>", escape(text))


def document_page(settings: Settings, doc_id: str, root: str) -> str | None:
    page = data.document(settings, doc_id)
    if page is None:
        return None

    def link(query: str) -> str:
        from urllib.parse import quote

        return f"{root}/news?q={quote(query)}"

    found = spans(page.entities, page.quotes, link)
    labels = sorted({s.label for s in found if s.kind == "entity"}, key=charts.label_order)
    return render(
        "document.html",
        title=page.document["title"] or doc_id,
        p=page,
        root=root,
        text=marked(page.document["text"], found),
        labels=labels,
        entity_count=sum(1 for s in found if s.kind == "entity"),
    )

"""The pages on the sample lake: their data, the static report (one file, nothing outside it), the charts
drawn by `news-etl chart`, and the same pages as a browser sees them through `news-etl serve`."""

import dataclasses
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests

from conftest import ARTIFACTS, SAMPLE_DATES, browser_page, needs_chromium
from pipeline.web import data, pages

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
DAY = SAMPLE_DATES[-1]  # 14 files: 13 documents (1 exact duplicate), 1 reject
NO_DATA = "2030-01-01"


@pytest.fixture(scope="module")
def lake(sample_lake, tmp_path_factory):
    """The shared sample lake with a search index of its own."""
    return dataclasses.replace(sample_lake, search_index=tmp_path_factory.mktemp("web") / "index")


def where(settings, index: bool = True) -> list[str]:
    found = ["--lake", str(settings.lake), "--db", str(settings.db)]
    return found + ["--index", str(settings.search_index)] if index else found


def top_speaker(settings) -> str:
    with duckdb.connect(str(settings.db), read_only=True) as con:
        sql = "select speaker from quotes_by_speaker_daily where date = ? order by quotes desc, speaker limit 1"
        return con.execute(sql, [DAY]).fetchone()[0]


def test_run_report_data_agrees_with_the_runs_table(lake):
    report = data.run_report(lake, DAY)
    current = report.current
    assert (current["files_seen"], current["documents"], current["duplicates"], current["rejects"]) == (14, 13, 1, 1)
    assert sum(r["files"] for r in report.rejects) == 1
    assert sum(x["documents"] for x in report.languages) == 12  # the duplicate left out
    assert report.checks == []  # the sample lake was never checked (`news-etl run` checks; run_partition does not)
    assert report.entities and all(e["label"] for e in report.entities)
    top = report.entities[0]
    assert top["change"] == pytest.approx(top["mentions"] - top["trailing_mean"])
    assert report.speakers and report.quotes and all(q["speaker_name"] for q in report.quotes)
    with duckdb.connect(str(lake.db), read_only=True) as con:  # both kinds; a document counts once per speaker
        sql = "select count(*), count(distinct doc_id) from speaker_quotes where speaker = ? and date = ?"
        for speaker in report.speakers:
            assert con.execute(sql, [speaker["speaker"], DAY]).fetchone() == (speaker["quotes"], speaker["documents"])
    assert data.run_report(lake, data.date.fromisoformat(NO_DATA)).has_data is False


def test_page_data_is_cached_until_the_database_is_rebuilt(lake):
    key = data.database_key(lake.db)
    assert data.rows(lake, "dates") is data.rows(lake, "dates")
    assert ((key, "dates", ()) in data._cache) is True


def test_the_static_report_is_one_file_that_references_nothing_outside_it(lake, tmp_path):
    out = tmp_path / "report.html"
    ran = subprocess.run(
        [NEWS_ETL, "report", "--date", DAY.isoformat(), "--out", out, *where(lake, index=False)],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    html = out.read_text()
    assert f"Run report: {DAY}" in html and "<svg" in html and "Top entities" in html
    # Nothing to fetch: no src/href/url()/@import pointing anywhere, no script, no link element.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert not re.search(r"url\(|@import", html, re.I)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )


def test_a_report_of_a_date_without_data_says_so(lake, tmp_path):
    html = pages.report_page(lake, data.date.fromisoformat(NO_DATA), root=None)
    assert f"No data for {NO_DATA}" in html


def test_chart_commands_write_svg_and_png(lake, tmp_path):
    svg, png = tmp_path / "attention.svg", tmp_path / "entities.png"
    ran = subprocess.run(
        [NEWS_ETL, "chart", "attention", "tessaly", "budget", "--out", svg, *where(lake)],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    text = svg.read_text()
    assert text.startswith("<svg") and "Attention over time" in text and "tessaly" in text
    ran = subprocess.run([NEWS_ETL, "chart", "entities", "--out", png, *where(lake)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [NEWS_ETL, "chart", "entities", "--out", tmp_path / "x.gif", *where(lake)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and ".svg or .png" in bad.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(lake, tmp_path_factory):
    """`news-etl serve` on a free port of 127.0.0.1."""
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    process = subprocess.Popen(
        [NEWS_ETL, "serve", "--port", str(port), *where(lake)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/report?date={NO_DATA}", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "news-etl serve did not start"
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_serve_answers_each_page_and_refuses_bad_input_in_one_line(served):
    assert f"No data for {NO_DATA}" in requests.get(f"{served}/report?date={NO_DATA}", timeout=30).text
    bad = requests.get(f"{served}/report?date=2026-13-01", timeout=30)
    assert bad.status_code == 400 and "month 13" in bad.text
    assert requests.get(f"{served}/document/nope", timeout=30).status_code == 404
    broken = requests.get(f"{served}/news", params={"q": '"unclosed'}, timeout=30)
    assert broken.status_code == 200 and "never closed" in broken.text


@needs_chromium
def test_the_pages_through_serve_in_a_browser(served, lake):
    from playwright.sync_api import expect

    speaker = top_speaker(lake)
    with browser_page("serve-last-page.png") as page:
        page.goto(f"{served}/report?date={DAY}")
        expect(page.get_by_role("heading", name=f"Run report: {DAY}")).to_be_visible()
        expect(page.get_by_text("Top entities of")).to_be_attached()
        page.screenshot(path=ARTIFACTS / "serve-report.png", full_page=True)
        page.get_by_role("link", name="News", exact=True).click()
        page.get_by_label("Query 1").fill(f'speaker:"{speaker}"')
        page.get_by_label("Query 2").fill("tessaly")
        page.get_by_role("button", name="Show").click()
        chart = page.get_by_test_id("attention-chart").locator("svg")
        expect(chart).to_be_visible()
        expect(chart).to_contain_text("Attention over time")
        page.screenshot(path=ARTIFACTS / "serve-news.png", full_page=True)
        page.get_by_role("heading", name=re.compile("Documents matching speaker")).locator(
            "xpath=following-sibling::table[1]"
        ).get_by_role("link").first.click()
        text = page.get_by_test_id("document-text")
        expect(text.locator("mark.entity").first).to_be_visible()
        expect(text.locator("q.quote").first).to_be_visible()
        expect(text.locator("mark.speaker").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / "serve-document.png", full_page=True)
        # A name links to its attention chart.
        text.locator("mark.entity a").first.click()
        expect(page.get_by_test_id("attention-chart").locator("svg")).to_be_visible()

"""The pages inside Airflow's UI (the news_etl_ui plugin) with a real api-server and Debian's chromium: the
Report tab of a finished run, the News page in the navigation, a document; anonymous requests refused."""

import re
import shutil
from datetime import timedelta
from urllib.parse import quote

import duckdb
import pytest
import requests
from playwright.sync_api import expect

from conftest import ARTIFACTS, SAMPLE_DATES, SAMPLE_RAW, browser_page, log_in, needs_chromium

pytestmark = [pytest.mark.e2e]

SAMPLE_DAY = SAMPLE_DATES[-1]
DAY = SAMPLE_DAY - timedelta(days=21)  # a landing folder of its own: no other test processes it
RUN_ID = "news-etl-ui-report"
PAGES = ["/news-etl/news", f"/news-etl/report?date={DAY}", "/news-etl/document/x", "/news-etl/"]


def test_the_plugin_refuses_anonymous_requests_and_bad_tokens(airflow_server):
    url = airflow_server.url
    for path in PAGES:
        assert requests.get(url + path, timeout=30, allow_redirects=False).status_code == 401, path
        bad = {"Authorization": "Bearer not-a-token"}
        assert requests.get(url + path, headers=bad, timeout=30, allow_redirects=False).status_code == 403, path
        forged = requests.get(url + path, cookies={"_token": "forged"}, timeout=30, allow_redirects=False)
        assert forged.status_code == 403, path
    signed_in = airflow_server.api.request("GET", "/news-etl/report?date=2030-01-01")
    assert signed_in.status_code in (200, 400)  # 400 until a first run has built the database
    assert "news-etl" in signed_in.text


@pytest.fixture(scope="module")
def finished_run(airflow_server):
    """A manual news_nightly run of DAY, finished successfully."""
    shutil.copytree(SAMPLE_RAW / SAMPLE_DAY.isoformat(), airflow_server.data_root / "raw" / DAY.isoformat())
    api = airflow_server.api
    api.unpause("news_nightly")
    api.call(
        "POST",
        "/api/v2/dags/news_nightly/dagRuns",
        json={"dag_run_id": RUN_ID, "logical_date": None, "conf": {"date": DAY.isoformat()}},
    )
    run = api.wait_run("news_nightly", RUN_ID, timeout=600)
    assert run["state"] == "success", airflow_server.tail()
    return RUN_ID


def top_speaker(server) -> str:
    with duckdb.connect(str(server.data_root / "news.duckdb"), read_only=True) as con:
        sql = "select speaker from quotes_by_speaker_daily where date = ? order by quotes desc, speaker limit 1"
        return con.execute(sql, [DAY]).fetchone()[0]


@needs_chromium
def test_report_tab_news_page_and_a_document_in_the_airflow_ui(airflow_server, finished_run):
    speaker = top_speaker(airflow_server)
    with browser_page("web-ui-last-page.png") as page:
        log_in(page, airflow_server)
        page.set_viewport_size({"width": 1400, "height": 1400})  # the screenshots show the charts too
        page.goto(f"{airflow_server.url}/dags/news_nightly/runs/{quote(finished_run)}")
        page.get_by_role("link", name="Report", exact=True).click()
        report = page.frame_locator('iframe[title="Report"]')
        expect(report.get_by_role("heading", name=f"Run report: {DAY}")).to_be_visible(timeout=60_000)
        expect(report.get_by_text(f"Airflow run {finished_run}")).to_be_visible()
        expect(report.get_by_role("heading", name="Data checks")).to_be_visible()
        expect(report.get_by_text("Top entities of")).to_be_attached()
        expect(report.get_by_role("cell", name="commit", exact=True)).to_be_attached()  # task timings
        page.screenshot(path=ARTIFACTS / "ui-report-tab.png", animations="disabled")  # docs/ui-report-tab.png

        page.get_by_role("link", name="News", exact=True).click()
        news = page.frame_locator('iframe[title="News"]')
        news.get_by_label("Query 1").fill(f'speaker:"{speaker}"')
        news.get_by_label("Query 2").fill("tessaly")
        news.get_by_label("From").fill((DAY - timedelta(days=6)).isoformat())
        news.get_by_label("To").fill(DAY.isoformat())
        news.get_by_role("button", name="Show").click()
        chart = news.get_by_test_id("attention-chart").locator("svg")
        expect(chart).to_be_visible(timeout=60_000)
        expect(chart).to_contain_text("Attention over time")
        page.screenshot(path=ARTIFACTS / "ui-news.png", animations="disabled")  # docs/ui-news.png

        results = news.get_by_role("heading", name=re.compile("Documents matching speaker"))
        results.locator("xpath=following-sibling::table[1]").get_by_role("link").first.click()
        text = news.get_by_test_id("document-text")
        expect(text.locator("mark.entity").first).to_be_visible(timeout=60_000)
        expect(text.locator("q.quote").first).to_be_visible()
        expect(text.locator("mark.speaker").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / "ui-document.png", animations="disabled")

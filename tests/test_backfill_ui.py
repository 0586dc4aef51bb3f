"""A backfill started the way users start it: Airflow's UI in a real browser (Debian's chromium, Playwright)."""

import re
import shutil
import time
from datetime import timedelta

import duckdb
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from conftest import REPO, SAMPLE_DATES, sample_files

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
# The same sample files sit a week earlier too (see the airflow_server fixture): this test backfills those.
DAYS = [d - timedelta(days=7) for d in SAMPLE_DATES]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not shutil.which("chromium"), reason="Debian's chromium is not installed (make test installs it with apt)"
    ),
]


@pytest.fixture
def page(airflow_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # The UI reads typed dates in its own timezone setting, which defaults to the browser's: pin both to UTC.
        context = browser.new_context(timezone_id="UTC", viewport={"width": 1400, "height": 900})
        context.add_init_script("window.localStorage.setItem('timezone', 'UTC')")
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            page.screenshot(path=ARTIFACTS / "backfill-ui-last-page.png", full_page=True)
            browser.close()


def log_in(page: Page, server) -> None:
    page.goto(f"{server.url}/auth/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dags", exact=True)).to_be_visible()


def unpause(page: Page) -> None:
    """Queued backfill runs do not start while the DAG is paused."""
    switch = page.get_by_test_id("toggle-pause")
    switch.wait_for()
    if switch.get_attribute("data-state") != "checked":
        switch.click()
        expect(switch).to_have_attribute("data-state", "checked")


def submit_backfill(page: Page, first: str, last: str) -> None:
    page.get_by_role("button", name="Trigger Dag").click()
    page.get_by_text("Run this Dag for a range of dates").click()
    heading = page.get_by_role("heading", name=re.compile("Run Backfill"))
    for i, (label, day) in enumerate([("From", first), ("To", last)]):
        page.get_by_test_id("datetime-input").nth(i).click()
        page.get_by_role("textbox", name=label).fill(day.replace("-", "/"))
        heading.click()  # closes the date popover; Escape would close the whole dialog
    page.get_by_role("radiogroup", name="Reprocess Behavior").get_by_text("Missing Runs", exact=True).click()
    expect(page.get_by_text(f"{len(DAYS)} runs will be triggered.")).to_be_visible()
    page.get_by_role("button", name="Run Backfill").click()
    expect(page.get_by_text("Backfill generated").first).to_be_visible()


def wait_for_success(page: Page, server, first: str, last: str, timeout: float = 300) -> None:
    runs_url = (
        f"{server.url}/dags/news_nightly/runs?run_type=backfill"
        f"&logical_date_gte={first}T00:00:00Z&logical_date_lte={last}T23:59:59Z"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(runs_url)
        rows = page.get_by_role("row").filter(has_text="backfill__")
        rows.first.wait_for()
        states = [re.findall(r"Success|Failed|Running|Queued", rows.nth(i).inner_text()) for i in range(rows.count())]
        if len(states) == len(DAYS) and all(s == ["Success"] for s in states):
            return
        assert not any("Failed" in s for s in states), states
        time.sleep(5)
    pytest.fail(f"backfill runs not all successful after {timeout}s")


def test_backfill_from_the_ui(airflow_server, page):
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    log_in(page, airflow_server)
    page.goto(f"{airflow_server.url}/dags/news_nightly")
    unpause(page)
    submit_backfill(page, first, last)
    wait_for_success(page, airflow_server, first, last)
    page.screenshot(path=ARTIFACTS / "backfill-ui-runs.png", full_page=True)

    with duckdb.connect(str(airflow_server.data_root / "news.duckdb"), read_only=True) as con:
        seen = dict(con.execute("select date::varchar, files_seen from runs where is_current").fetchall())
    for day, sample_day in zip(DAYS, SAMPLE_DATES, strict=True):
        assert seen[day.isoformat()] == len(sample_files(sample_day))

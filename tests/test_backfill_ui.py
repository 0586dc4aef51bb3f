"""Runs started the way users start them: Airflow's UI in a real browser (Debian's chromium, Playwright). A
backfill from the dialog, and a single run from the trigger form's date field; each run's note says what it did."""

import re
import shutil
import time
from datetime import timedelta

import duckdb
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import ARTIFACTS, SAMPLE_DATES, SAMPLE_RAW, browser_page, log_in, needs_chromium, sample_files

# The same sample files sit a week earlier too (see the airflow_server fixture): this test backfills those.
DAYS = [d - timedelta(days=7) for d in SAMPLE_DATES]
# Given in the Backfill dialog's run parameters, where it is ignored: no landing folder for it, and no run takes it.
IGNORED_DATE = "2026-01-01"

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def page(airflow_server):
    with browser_page("backfill-ui-last-page.png") as page:
        yield page


def unpause(page: Page) -> None:
    """Queued backfill runs do not start while the DAG is paused."""
    switch = page.get_by_test_id("toggle-pause")
    switch.wait_for()
    if switch.get_attribute("data-state") != "checked":
        switch.click()
        expect(switch).to_have_attribute("data-state", "checked")


def date_field(page: Page) -> Locator:
    """The trigger form's "Date to process" (its label is not tied to the input: found by its group)."""
    return page.get_by_role("dialog").get_by_role("group").filter(has_text="Date to process").get_by_role("textbox")


def run_notes(page: Page, rows: Locator) -> list[str]:
    """Each row's note, as the runs list shows it: its Note button opens the note."""
    notes = []
    for i in range(rows.count()):
        rows.nth(i).get_by_role("button", name="Note").click()
        dialog = page.get_by_role("dialog").filter(has=page.get_by_role("heading", name="Dag Run Note"))
        notes.append(dialog.get_by_role("paragraph").first.inner_text())
        page.screenshot(path=ARTIFACTS / "ui-run-note.png", animations="disabled")
        dialog.get_by_role("button", name="Close").click()
    return notes


def submit_backfill(page: Page, first: str, last: str) -> None:
    page.get_by_role("button", name="Trigger Dag").click()
    page.get_by_text("Run this Dag for a range of dates").click()
    heading = page.get_by_role("heading", name=re.compile("Run Backfill"))
    for i, (label, day) in enumerate([("From", first), ("To", last)]):
        page.get_by_test_id("datetime-input").nth(i).click()
        page.get_by_role("textbox", name=label).fill(day.replace("-", "/"))
        heading.click()  # closes the date popover; Escape would close the whole dialog
    date_field(page).fill(IGNORED_DATE)  # the dialog offers it; every run of the range still takes its own day
    page.get_by_role("radiogroup", name="Reprocess Behavior").get_by_text("Missing Runs", exact=True).click()
    expect(page.get_by_text(f"{len(DAYS)} runs will be triggered.")).to_be_visible(timeout=30_000)  # the dry run
    page.get_by_role("button", name="Run Backfill").click()
    expect(page.get_by_text("Backfill generated").first).to_be_visible(timeout=30_000)


def wait_for_success(page: Page, runs_url: str, prefix: str, count: int, timeout: float = 600) -> Locator:
    """Until the runs list shows `count` runs whose id starts with prefix, all successful; returns their rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(runs_url)
        rows = page.get_by_role("row").filter(has_text=prefix)
        try:
            rows.first.wait_for()
        except PlaywrightTimeoutError:
            continue  # the list is slow to load on a busy machine
        states = [re.findall(r"Success|Failed|Running|Queued", rows.nth(i).inner_text()) for i in range(rows.count())]
        if len(states) == count and all(s == ["Success"] for s in states):
            return rows
        assert not any("Failed" in s for s in states), states
        time.sleep(5)
    pytest.fail(f"{prefix} runs not all successful after {timeout}s")


def test_backfill_from_the_ui(airflow_server, page):
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    log_in(page, airflow_server)
    page.goto(f"{airflow_server.url}/dags/news_nightly")
    unpause(page)
    submit_backfill(page, first, last)
    runs_url = (
        f"{airflow_server.url}/dags/news_nightly/runs?run_type=backfill"
        f"&logical_date_gte={first}T00:00:00Z&logical_date_lte={last}T23:59:59Z"
    )
    rows = wait_for_success(page, runs_url, "backfill__", len(DAYS))
    page.screenshot(path=ARTIFACTS / "backfill-ui-runs.png", full_page=True)
    # Each run's note names the day it processed, its own (the date given in the dialog went unused).
    noted = sorted(note.split(":")[0] for note in run_notes(page, rows))
    assert noted == [d.isoformat() for d in DAYS]

    with duckdb.connect(str(airflow_server.data_root / "news.duckdb"), read_only=True) as con:
        seen = dict(con.execute("select date::varchar, files_seen from runs where is_current").fetchall())
    for day, sample_day in zip(DAYS, SAMPLE_DATES, strict=True):
        assert seen[day.isoformat()] == len(sample_files(sample_day))
    assert IGNORED_DATE not in seen


def test_a_single_run_from_the_trigger_form_takes_a_typed_date_and_notes_what_it_did(airflow_server, page):
    """The date field is plain text in YYYY-MM-DD whatever the browser's locale; an impossible date is refused
    when triggering; the "force" switch is not marked required; the run's note gives the date and the counts."""
    sample_day = SAMPLE_DATES[1]
    day = (sample_day - timedelta(days=14)).isoformat()  # a landing folder no other test processes
    shutil.copytree(SAMPLE_RAW / sample_day.isoformat(), airflow_server.data_root / "raw" / day)
    log_in(page, airflow_server)
    page.goto(f"{airflow_server.url}/dags/news_nightly")
    unpause(page)
    page.set_viewport_size({"width": 1400, "height": 1100})  # the whole form in the screenshot
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    field = date_field(page)
    assert field.evaluate("element => element.type") == "text"  # not the browser's date picker
    force = dialog.get_by_role("group").filter(has_text="Analyse every file again")
    expect(force).not_to_contain_text("*")  # the form marks required fields with a star
    field.fill("2026-02-30")
    dialog.get_by_role("button", name="Trigger").click()
    expect(dialog.get_by_text("'2026-02-30' is not a 'date'")).to_be_visible(timeout=30_000)
    dialog.screenshot(path=ARTIFACTS / "ui-trigger-refused.png")

    page.reload()  # the dialog keeps a failed trigger's error until the page is loaded again
    unpause(page)  # (waits for the page)
    page.get_by_role("button", name="Trigger Dag").click()
    date_field(page).fill(day)
    expect(date_field(page)).to_have_value(day)
    dialog.screenshot(path=ARTIFACTS / "ui-trigger-form.png")  # docs/ui-trigger-form.png is a copy
    dialog.get_by_role("button", name="Trigger").click()
    expect(dialog).to_be_hidden(timeout=30_000)  # the dialog stays open, with the error, if the trigger fails

    runs_url = f"{airflow_server.url}/dags/news_nightly/runs?run_type=manual"
    rows = wait_for_success(page, runs_url, "manual__", 1)
    (note,) = run_notes(page, rows)
    n_files = len(sample_files(sample_day))
    assert note.startswith(f"{day}: {n_files} files → {n_files} documents (0 exact duplicates), 0 rejects; lake run")

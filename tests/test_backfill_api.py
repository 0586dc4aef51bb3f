"""Backfills against a real running Airflow, through the REST call the UI's Backfill dialog makes."""

import time
from datetime import date

import duckdb
import pytest

from conftest import SAMPLE_DATES, sample_files

pytestmark = pytest.mark.e2e

DAG_ID = "news_nightly"


def wait_backfill(server, backfill_id: int, timeout: float = 600) -> None:
    """Long enough for a task's retry (the plan waits 5 min for a busy date) on a loaded machine."""
    try:
        server.api.wait_backfill(backfill_id, timeout)
    except (TimeoutError, RuntimeError) as error:  # not complete in time, or the scheduler went down
        waiting = server.api.unfinished_tasks(DAG_ID)
        server.api.cancel_backfill(backfill_id)  # one backfill per DAG at a time: the next tests need theirs
        pytest.fail(f"{error}; still waiting:\n{waiting}\n{server.tail()}")
    # Airflow 3.3's scheduler can crash (ObjectDeletedError) when a reprocessing backfill replaces
    # runs it is still looking at right after marking the previous backfill complete: let it settle.
    time.sleep(10)


def backfill_runs(server, first: date, last: date) -> dict[str, str]:
    """State of each backfill run by the date it processed (its data interval's start)."""
    bounds = {"logical_date_gte": f"{first}T00:00:00Z", "logical_date_lte": f"{last}T23:59:59Z"}
    runs = server.api.dag_runs(DAG_ID, run_type="backfill", **bounds)
    return {r["data_interval_start"][:10]: r["state"] for r in runs}


def lake_counts(server) -> dict[str, tuple[int, int, int, int]]:
    """Per date: files seen, documents + rejects, rows in documents, distinct doc_ids."""
    with duckdb.connect(str(server.data_root / "news.duckdb"), read_only=True) as con:
        rows = con.execute(
            """
            select r.date::varchar, r.files_seen, r.documents + r.rejects,
                   (select count(*) from documents d where d.date = r.date),
                   (select count(distinct doc_id) from documents d where d.date = r.date)
            from runs r where r.is_current
            """
        ).fetchall()
    return {day: tuple(counts) for day, *counts in rows}


def current_run_ids(server) -> dict[str, str]:
    with duckdb.connect(str(server.data_root / "news.duckdb"), read_only=True) as con:
        return dict(con.execute("select date::varchar, run_id from current_runs").fetchall())


def test_backfill_fills_exactly_its_partitions_then_all_runs_replaces_them(airflow_server):
    server = airflow_server
    first, last = SAMPLE_DATES[0], SAMPLE_DATES[-1]
    server.api.unpause(DAG_ID)

    backfill = server.api.create_backfill(DAG_ID, first, last, reprocess="none")
    wait_backfill(server, backfill)
    assert backfill_runs(server, first, last) == {d.isoformat(): "success" for d in SAMPLE_DATES}

    counts = lake_counts(server)
    for day in SAMPLE_DATES:
        n = len(sample_files(day))
        documents = n - (1 if day != SAMPLE_DATES[1] else 0)  # one empty / whitespace-only file on the 23rd, 25th
        assert counts[day.isoformat()] == (n, n, documents, documents)
    before = current_run_ids(server)

    # "All runs": every day is processed again and replaces its partition, nothing is duplicated.
    again = server.api.create_backfill(DAG_ID, first, last, reprocess="completed")
    wait_backfill(server, again)
    assert backfill_runs(server, first, last) == {d.isoformat(): "success" for d in SAMPLE_DATES}
    assert lake_counts(server) == counts
    after = current_run_ids(server)
    assert all(after[d.isoformat()] != before[d.isoformat()] for d in SAMPLE_DATES)


def test_backfill_of_an_already_done_range_with_missing_runs_only_does_nothing(airflow_server):
    server = airflow_server
    first, last = SAMPLE_DATES[0], SAMPLE_DATES[-1]
    assert server.api.backfill_dry_run(DAG_ID, first, last, reprocess="none") == 0

"""
### news_nightly: last night's news files into the lake

Each night at 02:00 UTC, processes the previous day's landing folder `RAW/<YYYY-MM-DD>/`:

1. **plan**: list and hash the files, mark exact duplicates, deal them into shards;
2. **extract** (one mapped task per shard): decode, spaCy, write one Parquet file per table;
3. **commit**: check every file became a document or a reject, then publish the partition atomically;
4. **check**: the data checks (`sql/checks/`) on the committed date, recorded in the `checks` table; fails, red,
   when an error-level check fails (a missing or empty landing folder, a night of rejects, broken offsets...),
   with the failing checks' messages first in its log;
5. **refresh_views**: rebuild the DuckDB database of views, whatever the checks said;
6. **checks_passed**: fails the run when the checks did (the refresh, last, succeeds either way); its return
   value says what the date produced and which checks failed.
7. **index_search** (after the commit, beside the checks): bring the full-text search index up to date.

Trigger it by hand with a **date** to (re)process one day, or start a backfill for a range; say **expect_empty**
for a day known to have no files.
Paths and the model come from the environment (`NEWS_DATA_ROOT`, `NEWS_RAW_ROOT`, `NEWS_LAKE`, `NEWS_DB`,
`NEWS_MODEL`); the landing folder and the lake may be `s3://bucket/prefix`, with credentials from the
environment or from the Airflow connection named by `NEWS_STORAGE_CONN_ID`. See the README.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from pipeline.airflow_tasks import fail_without_retry, task_settings
from pipeline.checks import CHECKS
from pipeline.registry import TABLES, committed_tables

# Every lake table as an Airflow asset: each commit records an event on each table it publishes (visible in the
# UI's Assets view, with the date, the row count and what the date produced in its extra), and the check task one
# on the checks table when no error-level check failed; DAGs downstream of the lake can be scheduled on them.
LAKE_ASSETS = {
    table.name: Asset(name=f"news_lake_{table.name}", uri=f"news-etl://lake/{table.name}") for table in TABLES
}


# Shards analysed at once per DAG run: raise it with the workers (see docs/scaling.md). Read when the DAG is
# parsed, so set it where the dag-processor runs.
MAX_ACTIVE_SHARDS = int(os.environ.get("NEWS_MAX_ACTIVE_SHARDS") or 4)


@dag(
    dag_id="news_nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=2,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(hours=3),
    },
    params={
        "date": Param(
            None,
            type=["null", "string"],
            # A text field: `format="date"` would make it the browser's date picker, in the browser's locale
            # (mm/dd/yyyy). Nested, the format still refuses an impossible date (2026-02-30) at trigger time.
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            allOf=[{"format": "date"}],
            title="Date to process",
            description="The landing folder's date, YYYY-MM-DD (such as 2026-11-24). Empty: the day of the run's "
            "data interval (for a run triggered now: yesterday; before 02:00 UTC, the day before). A backfill "
            "ignores it: each of its runs processes its own day.",
        ),
        "force": Param(
            False,
            type=["boolean", "null"],  # with "null" the form does not mark the switch as required
            title="Analyse every file again",
            description="Off: files unchanged since the date's last run (same bytes, model and extractor "
            "version) are taken over from it. On: everything is analysed again.",
        ),
        "expect_empty": Param(
            False,
            type="boolean",
            title="The day is known to have no files",
            description="Off: a missing or empty landing folder fails the run's checks (the feed broke). On: the "
            "day is known to be empty (a holiday, an outage already dealt with): the checks pass.",
        ),
    },
    doc_md=__doc__,
    tags=["news-etl"],
)
def news_nightly() -> None:
    # A date held by another run (a backfill, a CLI run) frees itself: wait for it for an hour, longer than
    # a dead holder's lock takes to go stale (NEWS_LOCK_STALE_SECONDS, 30 min). Other failures do not retry.
    @task(retries=12, retry_delay=timedelta(minutes=5))
    def plan(
        params: dict[str, Any], ti: Any = None, dag_run: Any = None, data_interval_start: datetime | None = None
    ) -> list[int]:
        """Returns the shards to map over; the run id goes out as a second output (XCom "etl_run_id")."""
        from pipeline.airflow_tasks import run_day
        from pipeline.run import plan_run
        from pipeline.views import check_database_target

        with fail_without_retry():
            settings = task_settings()
            check_database_target(settings.db)  # refresh_views must not find out only after the commit
            day = run_day(params.get("date"), dag_run.run_type, data_interval_start, dag_run.run_after)
            owner = f"airflow:{dag_run.dag_id}/{dag_run.run_id}"  # a retried plan takes its own lock back
            planned = plan_run(settings, day, allow_missing=True, force=bool(params.get("force")), owner=owner)
        ti.xcom_push(key="etl_run_id", value=planned["run_id"])
        return list(range(planned["n_fresh"]))

    @task(max_active_tis_per_dagrun=MAX_ACTIVE_SHARDS)
    def extract(etl_run_id: str, shard: int) -> dict[str, Any]:
        from pipeline.run import process_shard

        with fail_without_retry():
            return process_shard(task_settings(), etl_run_id, shard)

    @task(outlets=[LAKE_ASSETS[t.name] for t in committed_tables()])
    def commit(etl_run_id: str, receipts: list[dict[str, Any]], outlet_events: Any = None) -> dict[str, Any]:
        """receipts: what the shards reported (the commit reads them from the lake; taking them here makes the
        commit wait for every shard)."""
        from pipeline.run import commit_run

        with fail_without_retry():
            row = commit_run(task_settings(), etl_run_id)
        produced = {"files": row["files_seen"], "documents": row["documents"], "rejects": row["rejects"]}
        for table, rows in row.pop("rows").items():
            extra = {"date": row["date"], "run_id": etl_run_id, "rows": rows}
            outlet_events[LAKE_ASSETS[table]].extra = extra | produced
        return {k: str(v) for k, v in row.items()}

    @task(outlets=[LAKE_ASSETS[CHECKS.name]], multiple_outputs=False)  # one XCom: "checks" is also its own key
    def check(
        committed: dict[str, Any], params: dict[str, Any], ti: Any = None, outlet_events: Any = None
    ) -> dict[str, Any]:
        """The summary (what the date produced, which checks failed) goes out as XCom "checks" even when the task
        fails; a failed check run gives no asset event, so DAGs scheduled on the checks asset see good nights only."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.checks import log_outcome, run_checks
        from pipeline.config import parse_date

        with fail_without_retry():
            day = parse_date(committed["date"])
            outcome = run_checks(task_settings(), day, expect_empty=bool(params.get("expect_empty")))
        log_outcome(outcome)  # failures first
        summary = outcome.summary()
        ti.xcom_push(key="checks", value=summary)
        if outcome.failed:
            raise AirflowFailException("; ".join(f"{r.check}: {r.message}" for r in outcome.failed))
        outlet_events[LAKE_ASSETS[CHECKS.name]].extra = summary
        return summary

    # After the checks, so that the views show them; after failed ones too, so analysts see what came in.
    @task(trigger_rule="all_done_min_one_success")
    def refresh_views() -> list[str]:
        from pipeline.views import build_database

        with fail_without_retry():
            settings = task_settings()
            return build_database(settings.lake, settings.db)

    # A run's state is its last tasks': without this one a night whose checks failed would end green.
    @task(trigger_rule="all_done", multiple_outputs=False)
    def checks_passed(ti: Any = None) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        summary = ti.xcom_pull(task_ids="check", key="checks")
        if not summary:
            raise AirflowFailException("the checks did not run: see the tasks before")
        if summary["checks"]["fail"]:
            raise AirflowFailException(f"error-level checks failed for {summary['date']}: {summary['checks']['fail']}")
        return summary

    @task
    def index_search() -> dict[str, Any]:
        from pipeline.search import update_index

        with fail_without_retry():
            report = update_index(task_settings())
        return {"dates": report.dates, "documents": report.documents}

    shards = plan()
    etl_run_id = shards["etl_run_id"]
    receipts = extract.partial(etl_run_id=etl_run_id).expand(shard=shards)
    committed = commit(etl_run_id, receipts)
    checked = check(committed)
    [committed, checked] >> refresh_views()
    checked >> checks_passed()
    committed >> index_search()


news_nightly()

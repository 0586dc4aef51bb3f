"""
### news_maintenance: compaction and vacuum of the lake, weekly

Each Sunday at 04:00 UTC (after that night's `news_nightly` run), what `news-etl maintain` does:

1. **maintain**: every committed date without the entity rollups (committed before they existed) gets them;
   every committed date whose tables hold several shard files gets one file per table instead
   (the same rows, of the same run; a date another run holds is left for next week), then files replaced longer
   than `NEWS_RETENTION_HOURS` ago (at least 168: time travel reaches a week back) and stale files of runs that
   never committed are deleted; never a file the views read, whether built before the compaction or after;
2. **refresh_views**: rebuild the DuckDB database, so the views read the compacted files.

Trigger it by hand with **dry_run** on to see the figures without changing anything (in the task's log and its
return value). Settings come from the same environment as `news_nightly` (see the README).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from pipeline.airflow_tasks import fail_without_retry, task_settings


@dag(
    dag_id="news_maintenance",
    schedule=CronTriggerTimetable("0 4 * * 0", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(hours=3)},
    params={
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Report what would be compacted and deleted; change nothing.",
        ),
    },
    doc_md=__doc__,
    tags=["news-etl"],
)
def news_maintenance() -> None:
    @task
    def maintain(params: dict[str, Any]) -> dict[str, Any]:
        """Compaction and vacuum; the views are rebuilt by the next task."""
        from pipeline.maintain import maintain

        with fail_without_retry():
            report = maintain(task_settings(), dry_run=bool(params.get("dry_run")), rebuild_views=False)
        return asdict(report)

    @task
    def refresh_views(report: dict[str, Any]) -> list[str]:
        from pipeline.views import build_database

        if report["dry_run"] or not any(t["files_written"] for t in report["tables"].values()):
            return []  # nothing compacted: the views read what they read
        with fail_without_retry():
            settings = task_settings()
            return build_database(settings.lake, settings.db)

    refresh_views(maintain())


news_maintenance()

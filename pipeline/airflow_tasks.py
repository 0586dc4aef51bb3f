"""What every news-etl Airflow task needs (dags/): its settings, and failures that retrying cannot fix.

Imported by the DAG files when they are parsed, so Airflow itself is imported only when a task runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from pipeline.config import Settings, partition_date

log = logging.getLogger(__name__)


def task_settings() -> Settings:
    """Settings from the worker's environment; object-store credentials from an Airflow connection if one is
    named (read through the Task SDK, i.e. the API server: tasks never touch the metadata database)."""
    from pipeline.storage import connection_env

    conn_id = os.environ.get("NEWS_STORAGE_CONN_ID")
    if conn_id:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        os.environ.update(connection_env(conn.login, conn.password, conn.extra_dejson))  # this task's process only
    return Settings.from_env()


def run_day(requested: str | None, run_type: str, interval_start: datetime | None, run_after: datetime | None) -> date:
    """The day a news_nightly run processes: its `date` parameter, else its data interval's day (see
    config.partition_date). A backfill run always processes its own day: the Backfill dialog gives every run
    of the range the same parameters, and one date for all would process that day once per run."""
    if run_type == "backfill":
        if requested:
            log.warning("a backfill run processes its own day: the date parameter (%s) is ignored", requested)
        requested = None
    return partition_date(requested, interval_start, run_after)


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """A bad date, unknown model or unwritable lake will not fix itself: fail at once, with the one-line message.
    A date held by another run will free itself: that one is retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.errors import DateBusy, UserError

    try:
        yield
    except DateBusy:
        raise  # another run holds the date: the task's retries wait for it
    except UserError as error:
        raise AirflowFailException(f"news-etl: {error}") from None

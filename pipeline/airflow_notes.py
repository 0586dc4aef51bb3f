"""The note on every news_nightly run: which date it processed and what it produced.

Airflow shows a run's note in the runs list (the note button on each row) and at the top of the run's page.
Tasks cannot write it (the Task SDK has no call for it; only the REST API and the metadata database can), so
an Airflow listener does, in the scheduler, when the run ends: the day (the same rule as the `plan` task,
`airflow_tasks.run_day`) and the `commit` task's counts. Loaded into Airflow as the plugin `news_etl`
through the `airflow.plugins` entry point (pyproject.toml). A note someone wrote by hand is never replaced.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

DAG_ID = "news_nightly"
AUTHOR = "news-etl"  # the note's user: tells our notes from those written by hand


def run_note(day: str, succeeded: bool, committed: Mapping[str, Any] | None) -> str:
    """The note's Markdown: the date first, so that it reads as the run's title."""
    if committed is None:
        return f"**{day}**: failed before its commit: nothing changed in the lake"
    text = (
        f"**{day}**: {committed['files_seen']} files → {committed['documents']} documents "
        f"({committed['duplicates']} exact duplicates), {committed['rejects']} rejects; "
        f"lake run `{committed['run_id']}`"
    )
    return text if succeeded else text + "; committed, then the run failed (see refresh_views)"


def write_note(dag_run: Any, succeeded: bool) -> None:
    """Set the note of a finished run: in the scheduler, in its own session (committed with the run's new
    state); in `dag.test()`, whose run is detached, in a session of our own."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    if dag_run.dag_id != DAG_ID:
        return
    session = object_session(dag_run)
    if session is not None:
        note_run(session, dag_run, succeeded)
        return
    with create_session() as own:
        note_run(own, own.scalars(select(DagRun).where(DagRun.id == dag_run.id)).one(), succeeded)


def processed_day(dag_run: Any) -> date:
    """The day a news_nightly run processed: the `plan` task's rule (airflow_tasks.run_day)."""
    from pipeline.airflow_tasks import run_day

    return run_day((dag_run.conf or {}).get("date"), dag_run.run_type, dag_run.data_interval_start, dag_run.run_after)


def committed(session: Any, run_id: str) -> dict[str, Any] | None:
    """What the run's `commit` task returned (counts and the lake run id), or None if it did not commit."""
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(
        run_id=run_id, dag_ids=DAG_ID, task_ids="commit", key="return_value", map_indexes=-1, limit=1
    )
    found = session.scalars(query).first()
    return XComModel.deserialize_value(found) if found else None


def note_run(session: Any, dag_run: Any, succeeded: bool) -> None:
    from airflow.models.dagrun import DagRunNote

    from pipeline.errors import UserError

    if dag_run.dag_run_note is not None and dag_run.dag_run_note.user_id != AUTHOR:
        return  # written by hand
    try:
        day = processed_day(dag_run).isoformat()
    except UserError as error:
        day = f"no date ({error})"
    note = run_note(day, succeeded, committed(session, dag_run.run_id))
    if dag_run.dag_run_note is None:
        dag_run.dag_run_note = DagRunNote(content=note, user_id=AUTHOR)
    else:
        dag_run.dag_run_note.content = note


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    write_note(dag_run, succeeded=True)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    write_note(dag_run, succeeded=False)


class NewsEtlPlugin(AirflowPlugin):
    name = "news_etl"
    listeners = [sys.modules[__name__]]

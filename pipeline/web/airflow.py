"""What the pages need from Airflow when they run inside its api-server (mounted by pipeline/airflow_ui.py).

Plugin apps are not protected by Airflow: every request must carry a signed-in user's token (the UI's `_token`
cookie, or `Authorization: Bearer`), checked by Airflow's own `get_user` against its auth manager; an anonymous
request is refused (401, or 403 for a bad token). Imported by the api-server only, when it builds the app.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from fastapi import Request
from sqlalchemy import select

from pipeline.airflow_notes import DAG_ID, committed, processed_day
from pipeline.errors import UserError


def airflow_run(dag_id: str, run_id: str) -> tuple[date, str | None, list[dict[str, Any]]]:
    """A DAG run's processed day, its lake run (from the commit task's result) and its task instances."""
    if dag_id != DAG_ID:
        raise UserError(f"run reports are for {DAG_ID} runs; {dag_id} does not process a date")
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).one_or_none()
        if run is None:
            raise UserError(f"no run {run_id} of {dag_id}")
        day = processed_day(run)
        instances = session.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.start_date, TaskInstance.task_id, TaskInstance.map_index)
        ).all()
        tasks = [
            {
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "state": str(ti.state) if ti.state else None,
                "start_date": ti.start_date,
                "duration": ti.duration,
            }
            for ti in instances
        ]
        result = committed(session, run_id)
    return day, (result or {}).get("run_id"), tasks


async def signed_in_user(request: Request) -> Any:
    """Airflow's own check of the request's user: a bearer token, else the UI's cookie."""
    return await get_user(request, None, await bearer_scheme(request))


def create_airflow_app() -> Any:
    from pipeline.web.app import create_app

    return create_app(require=signed_in_user, airflow_run=airflow_run)

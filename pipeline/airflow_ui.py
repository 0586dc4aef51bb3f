"""The pages inside Airflow's UI: a "Report" tab on each news_nightly run and a "News" page in the navigation.

Airflow 3's api-server mounts the app of pipeline/web/app.py under URL_PREFIX (`fastapi_apps`), and the UI
shows it in a frame (`external_views`: a tab on every DAG run, the UI filling in {DAG_ID} and {RUN_ID}, and a
navigation entry). Plugin apps are not protected by Airflow: every request must carry a signed-in user's
token (the UI's `_token` cookie, or `Authorization: Bearer`), checked by Airflow's own `get_user` against its
auth manager; an anonymous request is refused (401, or 403 for a bad token). Loaded as the plugin
`news_etl_ui` through the `airflow.plugins` entry point (pyproject.toml).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Request

from pipeline.airflow_notes import DAG_ID
from pipeline.errors import UserError

URL_PREFIX = "/news-etl"


def airflow_run(dag_id: str, run_id: str) -> tuple[date, str | None, list[dict[str, Any]]]:
    """A DAG run's processed day, its lake run (from the commit task's result) and its task instances."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from pipeline.airflow_notes import committed, processed_day

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
    """Airflow's own check of the request's user (`get_user`: a bearer token, else the UI's cookie), imported at
    the first request: every Airflow process loads the plugins, task processes too, and importing Airflow's API
    security takes seconds that only the api-server, which serves the pages, should pay."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


def create_plugin_app() -> Any:
    from pipeline.web.app import create_app

    return create_app(require=signed_in_user, airflow_run=airflow_run)


class NewsEtlUiPlugin(AirflowPlugin):
    name = "news_etl_ui"
    fastapi_apps = [{"app": create_plugin_app(), "url_prefix": URL_PREFIX, "name": "news-etl pages"}]
    external_views = [
        {
            "name": "Report",
            "href": f"{URL_PREFIX}/report?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "news-etl-report",
        },
        {"name": "News", "href": f"{URL_PREFIX}/news", "destination": "nav", "url_route": "news-etl-news"},
    ]

"""The pages inside Airflow's UI: a "Report" tab on each news_nightly run and a "News" page in the navigation.

Airflow 3's api-server mounts the app of pipeline/web/app.py under URL_PREFIX (`fastapi_apps`), and the UI
shows it in a frame (`external_views`: a tab on every DAG run, the UI filling in {DAG_ID} and {RUN_ID}, and a
navigation entry). Every request is checked against Airflow's auth manager (pipeline/web/airflow.py). Loaded
as the plugin `news_etl_ui` through the `airflow.plugins` entry point (pyproject.toml).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/news-etl"


class NewsEtlUiPlugin(AirflowPlugin):
    name = "news_etl_ui"
    external_views = [
        {
            "name": "Report",
            "href": f"{URL_PREFIX}/report?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "news-etl-report",
        },
        {"name": "News", "href": f"{URL_PREFIX}/news", "destination": "nav", "url_route": "news-etl-news"},
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Built when the api-server asks for it: every Airflow process loads the plugins (task processes too),
        and only the api-server should pay for importing the web app and Airflow's API security."""
        from pipeline.web.airflow import create_airflow_app

        return [{"app": create_airflow_app(), "url_prefix": URL_PREFIX, "name": "news-etl pages"}]

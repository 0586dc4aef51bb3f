"""The web application: the run report, News and document pages, as a FastAPI app.

Served two ways: `news-etl serve` (uvicorn, 127.0.0.1 by default, no sign-in: for people on the machine), and
mounted in Airflow's api-server by the plugin in pipeline/airflow_ui.py, whose pipeline/web/airflow.py passes
`require` (Airflow's check of the signed-in user's token) and `airflow_run` (a DAG run's date, lake run and
task timings).
Pages read the lake only through the read-only query sandbox; each is a plain function of its query string.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline.config import Settings, parse_date
from pipeline.errors import UserError
from pipeline.web import charts, pages

# A DAG run's (processed date, lake run id or None, task instances) from its dag_id and run_id.
RunLookup = Callable[[str, str], tuple[date, str | None, list[dict[str, Any]]]]


@asynccontextmanager
async def warm_up(app: FastAPI) -> AsyncIterator[None]:
    """Load the chart engine in the background as the server starts (2-3 s of imports and Vega's start-up the
    first page would otherwise wait for). Airflow does not run a mounted app's lifespan: there the first chart
    pays it, once per api-server."""
    threading.Thread(target=charts.warm_up, daemon=True).start()
    yield


def create_app(
    settings: Callable[[], Settings] = Settings.from_env,
    require: Callable[..., Any] | None = None,
    airflow_run: RunLookup | None = None,
) -> FastAPI:
    """The app; settings() is called per request (the environment may name another lake after a restart)."""
    app = FastAPI(
        title="news-etl pages",
        lifespan=warm_up,
        dependencies=[Depends(require)] if require else [],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    @app.exception_handler(UserError)
    async def user_error(request: Request, error: UserError) -> HTMLResponse:
        return html(pages.message("Cannot show this page", str(error), root(request), error=True), 400)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse(f"{root(request)}/news")

    @app.get("/report", response_class=HTMLResponse)
    def report(
        request: Request,
        day: str | None = Query(None, alias="date"),
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> HTMLResponse:
        tasks, lake_run = None, None
        if dag_id and run_id and airflow_run:
            found, lake_run, tasks = airflow_run(dag_id, run_id)
        elif day:
            found = parse_date(day)
        else:
            from pipeline.web.data import committed_dates

            dates = committed_dates(settings())
            if not dates:
                return html(pages.message("Run report", "No date has been committed yet: no data.", root(request)))
            found = dates[0]["date"]
        body = pages.report_page(settings(), found, root(request), tasks, run_id if dag_id else None, lake_run)
        return html(body)

    @app.get("/news", response_class=HTMLResponse)
    def news(
        request: Request,
        q: list[str] = Query(default=[]),  # noqa: B008 (FastAPI's way to take a repeated parameter)
        since: str | None = Query(None, alias="from"),
        until: str | None = Query(None, alias="to"),
    ) -> HTMLResponse:
        first = parse_date(since) if since else None
        last = parse_date(until) if until else None
        return html(pages.news_page(settings(), root(request), q, first, last))

    @app.get("/document/{doc_id}", response_class=HTMLResponse)
    def document(request: Request, doc_id: str) -> HTMLResponse:
        body = pages.document_page(settings(), doc_id, root(request))
        if body is None:
            return html(pages.message("Document", f"No current document {doc_id}.", root(request)), 404)
        return html(body)

    return app

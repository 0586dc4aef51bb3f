"""The one Airflow 3 REST client of this project: the scale demo and the end-to-end tests both use it.

In Python: `AirflowAPI(url, "admin", admin_password(airflow_home))`, then `wait_healthy()`, `wait_dag(...)`,
`trigger(...)`, `wait_run(...)`, `create_backfill(...)`... It signs in with `POST /auth/token` before its first
call, and retries answers 5xx a bounded number of times (SQLite metadata says "database is locked" under load).

On the command line, for `scripts/scale_demo.sh` (bash keeps only the process supervision):
    python scripts/airflow_api.py wait-ready --dag news_nightly [--timeout 180]
    python scripts/airflow_api.py add-connection ID --type aws --extra JSON  (login, password: $CONNECTION_LOGIN,
                                                                             $CONNECTION_PASSWORD; argv is public)
    python scripts/airflow_api.py run DAG_ID --conf JSON [--timeout 600] [--task-instances FILE]
    python scripts/airflow_api.py password
The api-server is --url (default $AIRFLOW__API__BASE_URL, else http://localhost:8080); the admin password is read
from --airflow-home (default $AIRFLOW_HOME).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import requests

PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
COMPONENTS = ("metadatabase", "scheduler", "dag_processor")
TERMINAL = ("success", "failed")
T = TypeVar("T")


class AirflowAPIError(RuntimeError):
    """An answer that is not a success, with its status and body."""


def poll(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    every: float = 2,
    errors: tuple[type[Exception], ...] = (),
    alive: Callable[[], bool] | None = None,
) -> T:
    """`check()` until it returns something true; TimeoutError after `timeout` seconds.

    `errors`: exceptions that mean "not yet"; `alive`: False once the server is gone (no use waiting then).
    """
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"the server exited while waiting: {what}")
        try:
            if result := check():
                return result
        except errors:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        time.sleep(every)


def admin_password(airflow_home: Path | str, timeout: float = 60, alive: Callable[[], bool] | None = None) -> str:
    """The password SimpleAuthManager generates for `admin` when the api-server first starts."""
    path = Path(airflow_home) / PASSWORDS_FILE
    errors = (OSError, ValueError, KeyError)
    return poll(
        lambda: json.loads(path.read_text())["admin"], timeout, f"no password in {path}", errors=errors, alive=alive
    )


class AirflowAPI:
    """Signed-in calls to one api-server as one user (SimpleAuthManager's `admin` here)."""

    def __init__(self, url: str, username: str, password: str, retries: int = 10, timeout: float = 30) -> None:
        self.url, self.username, self.password = url.rstrip("/"), username, password
        self.retries, self.timeout = retries, timeout
        self.session = requests.Session()
        self.token = ""

    # --- plumbing

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; a 5xx is tried again up to `retries` times, and the last answer is returned."""
        reply = self.session.request(method, f"{self.url}{path}", timeout=self.timeout, **kwargs)
        for _ in range(self.retries):
            if reply.status_code < 500:
                break
            time.sleep(1)
            reply = self.session.request(method, f"{self.url}{path}", timeout=self.timeout, **kwargs)
        return reply

    def sign_in(self) -> None:
        reply = self._send("POST", "/auth/token", json={"username": self.username, "password": self.password})
        if not reply.ok:
            raise AirflowAPIError(f"sign-in as {self.username}: {reply.status_code} {reply.text}")
        self.token = reply.json()["access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A signed-in request (retrying 5xx); the answer whatever its status, for callers that check it."""
        if not self.token:
            self.sign_in()
        return self._send(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A signed-in request whose answer must be a success: its JSON body."""
        reply = self.request(method, path, **kwargs)
        if not reply.ok:
            raise AirflowAPIError(f"{method} {path}: {reply.status_code} {reply.text}")
        return reply.json() if reply.content else None

    def _list(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict]:
        """Every item of a paged list (the API gives at most 100 a page)."""
        items: list[dict] = []
        while True:
            page = self.call("GET", path, params={**(params or {}), "limit": 100, "offset": len(items)})
            items += page[key]
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    # --- waiting for the server

    def health(self) -> dict:
        """`/api/v2/monitor/health` (needs no sign-in): each component's status."""
        return self._send("GET", "/api/v2/monitor/health").json()

    def wait_healthy(
        self, components: Sequence[str] = COMPONENTS, timeout: float = 180, alive: Callable[[], bool] | None = None
    ) -> None:
        def healthy() -> bool:
            health = self.health()
            return all(health[c]["status"] == "healthy" for c in components)

        errors = (requests.RequestException, ValueError, KeyError, TypeError)
        poll(healthy, timeout, f"Airflow not healthy ({', '.join(components)})", errors=errors, alive=alive)

    def wait_dag(self, dag_id: str, timeout: float = 180, alive: Callable[[], bool] | None = None) -> None:
        """Until the dag-processor has parsed the DAG (the API answers 404 before)."""

        def parsed() -> bool:
            return self.request("GET", f"/api/v2/dags/{dag_id}").status_code == 200

        errors = (requests.RequestException, AirflowAPIError)
        poll(parsed, timeout, f"DAG {dag_id} not parsed", errors=errors, alive=alive)

    # --- DAG runs

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """A manual run (no logical date: the DAG takes its date from `conf`); its run id."""
        run = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str, **params: Any) -> list[dict]:
        """The DAG's runs, filtered by the API's query parameters (run_type, logical_date_gte, ...)."""
        return self._list(f"/api/v2/dags/{dag_id}/dagRuns", "dag_runs", params)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._list(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", "task_instances")

    def unfinished_tasks(self, dag_id: str) -> str:
        """One line per run of the DAG not yet finished and per task of it not yet successful: what a run waits for."""
        lines = []
        for run in self.dag_runs(dag_id):
            if run["state"] in TERMINAL:
                continue
            lines.append(f"run {run['dag_run_id']} ({run['run_type']}): {run['state']}")
            for ti in in_dag_order(self.task_instances(dag_id, run["dag_run_id"])):
                if ti["state"] != "success":
                    mapped = f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""
                    lines.append(f"  {ti['task_id']}{mapped}: {ti['state']}, try {ti['try_number']}")
        return "\n".join(lines) or f"no unfinished runs of {dag_id}"

    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 600,
        progress: Callable[[dict, list[dict]], None] | None = None,
    ) -> dict:
        """The run once it has succeeded or failed; `progress(run, task_instances)` is called meanwhile."""

        def finished() -> dict | None:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL:
                return run
            if progress is not None:
                progress(run, self.task_instances(dag_id, run_id))
            return None

        return poll(finished, timeout, f"DAG run {run_id} not finished", every=3)

    # --- connections and backfills

    def create_connection(self, connection_id: str, conn_type: str, login: str, password: str, extra: dict) -> None:
        body = {"connection_id": connection_id, "conn_type": conn_type, "login": login, "password": password}
        self.call("POST", "/api/v2/connections", json={**body, "extra": json.dumps(extra)})

    @staticmethod
    def _backfill(dag_id: str, first: date, last: date, reprocess: str) -> dict[str, Any]:
        # Whole days, as the UI's dialog sends them when only dates are typed.
        return {
            "dag_id": dag_id,
            "from_date": f"{first}T00:00:00Z",
            "to_date": f"{last}T23:59:59Z",
            "reprocess_behavior": reprocess,
        }

    def create_backfill(
        self, dag_id: str, first: date, last: date, reprocess: str = "none", max_active_runs: int = 3
    ) -> int:
        """`POST /api/v2/backfills`, the UI's Backfill dialog's call. reprocess: none | failed | completed."""
        body = self._backfill(dag_id, first, last, reprocess) | {
            "max_active_runs": max_active_runs,
            "run_backwards": False,
        }
        return self.call("POST", "/api/v2/backfills", json=body)["id"]

    def cancel_backfill(self, backfill_id: int) -> None:
        self.call("PUT", f"/api/v2/backfills/{backfill_id}/cancel")

    def backfill_dry_run(self, dag_id: str, first: date, last: date, reprocess: str = "none") -> int:
        """How many runs that backfill would create."""
        body = self._backfill(dag_id, first, last, reprocess)
        return self.call("POST", "/api/v2/backfills/dry_run", json=body)["total_entries"]

    def wait_backfill(self, backfill_id: int, timeout: float = 300) -> dict:
        """The backfill once the scheduler has marked it complete; fails at once if the scheduler is down."""

        def completed() -> dict | None:
            backfill = self.call("GET", f"/api/v2/backfills/{backfill_id}")
            if backfill["completed_at"]:
                return backfill
            if self.health()["scheduler"]["status"] != "healthy":
                raise RuntimeError(f"the scheduler is not healthy while backfill {backfill_id} runs")
            return None

        return poll(completed, timeout, f"backfill {backfill_id} not complete", every=3)


# --- command line


def in_dag_order(tis: list[dict]) -> list[dict]:
    # Under the default weight rule ("downstream") a task outweighs everything after it: upstream first.
    return sorted(tis, key=lambda t: (-t["priority_weight"], t["task_id"], t["map_index"]))


def run_dag(api: AirflowAPI, dag_id: str, conf: dict, timeout: float, save: Path | None) -> bool:
    """Unpause, trigger, report progress, print who ran what; True if the run succeeded."""
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, conf)
    print(f"[api] triggered {run_id}", flush=True)
    seen = ""

    def report(run: dict, tis: list[dict]) -> None:
        nonlocal seen
        by_task: dict[str, Counter[str]] = {}  # a mapped task has one instance per map index
        for t in in_dag_order(tis):
            by_task.setdefault(t["task_id"], Counter())[t["state"] or "none"] += 1
        line = "; ".join(f"{task} " + ", ".join(f"{n} {s}" for s, n in c.items()) for task, c in by_task.items())
        if line != seen:
            print(f"[api]   {run['state']}: {line}", flush=True)
            seen = line

    run = api.wait_run(dag_id, run_id, timeout, report)
    tis = in_dag_order(api.task_instances(dag_id, run_id))
    if save is not None:
        save.write_text(json.dumps(tis, indent=1))
    print(f"\n{'task':<14} {'map_index':>9}  {'hostname':<16} state")
    for t in tis:
        print(f"{t['task_id']:<14} {t['map_index']:>9}  {t['hostname'] or '-':<16} {t['state']}")
    print(f"\n[api] {run_id} ended {run['state']}: {run['start_date']} .. {run['end_date']}", flush=True)
    return run["state"] == "success"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="airflow_api.py", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AIRFLOW__API__BASE_URL", "http://localhost:8080"))
    parser.add_argument("--airflow-home", type=Path, default=Path(os.environ.get("AIRFLOW_HOME", "~/airflow")))
    commands = parser.add_subparsers(dest="command", required=True)
    ready = commands.add_parser("wait-ready", help="wait for the password, a healthy Airflow and the DAG parsed")
    ready.add_argument("--dag", required=True)
    ready.add_argument("--timeout", type=float, default=180)
    connection = commands.add_parser("add-connection", help="login and password from the environment")
    connection.add_argument("connection_id")
    connection.add_argument("--type", required=True)
    connection.add_argument("--extra", type=json.loads, default={}, help="a JSON object")
    run = commands.add_parser("run", help="unpause, trigger, wait, print the task instances; 1 unless success")
    run.add_argument("dag_id")
    run.add_argument("--conf", type=json.loads, default={}, help="a JSON object")
    run.add_argument("--timeout", type=float, default=600)
    run.add_argument("--task-instances", type=Path, help="save the run's task instances here (JSON)")
    commands.add_parser("password", help="print the generated admin password")
    args = parser.parse_args(argv)

    home = args.airflow_home.expanduser()
    try:
        if args.command == "password":
            print(admin_password(home, timeout=0))
        elif args.command == "wait-ready":
            deadline = time.monotonic() + args.timeout
            api = AirflowAPI(args.url, "admin", admin_password(home, args.timeout))
            api.wait_healthy(COMPONENTS, max(deadline - time.monotonic(), 0))
            api.wait_dag(args.dag, max(deadline - time.monotonic(), 0))
        elif args.command == "add-connection":
            login, password = os.environ.get("CONNECTION_LOGIN"), os.environ.get("CONNECTION_PASSWORD")
            if login is None or password is None:
                parser.error("add-connection: set CONNECTION_LOGIN and CONNECTION_PASSWORD")
            api = AirflowAPI(args.url, "admin", admin_password(home, timeout=0))
            api.create_connection(args.connection_id, args.type, login, password, args.extra)
            print(f"[api] created the Airflow connection {args.connection_id}", flush=True)
        elif args.command == "run":
            api = AirflowAPI(args.url, "admin", admin_password(home, timeout=0))
            return 0 if run_dag(api, args.dag_id, args.conf, args.timeout, args.task_instances) else 1
    except (AirflowAPIError, TimeoutError, RuntimeError, requests.RequestException) as error:
        print(f"[api] {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

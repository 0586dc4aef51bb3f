"""`make airflow` (scripts/airflow.sh) as an operator runs it: the access log in a file, the URL and password
banner at the end of start-up and on request, and Ctrl-C stopping every process it started, a running
news_nightly task among them."""

import os
import signal
import subprocess
import time

import psutil
import pytest

from airflow_api import AirflowAPI, admin_password
from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, free_port_block

pytestmark = pytest.mark.e2e

STOP_BOUND = 60  # seconds: the script's grace (15 s) before SIGKILL, and room for a loaded machine


def sessions_alive(sessions: set[int]) -> list[psutil.Process]:
    """Live processes of those sessions (Airflow's task processes have process groups of their own there)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) in sessions and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def wait_for(predicate, timeout: float, what: str, alive=lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert alive(), f"the script exited before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(1)


def test_make_airflow_logs_access_to_a_file_shows_the_banner_and_stops_everything_on_ctrl_c(tmp_path):
    port = free_port_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_"))}
    env |= {"NEWS_DATA_ROOT": str(tmp_path), "NEWS_RAW_ROOT": str(SAMPLE_RAW), "AIRFLOW_PORT": str(port)}
    home = tmp_path / "airflow"
    terminal = tmp_path / "terminal.log"
    with terminal.open("wb") as out:
        script = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "airflow.sh")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, as `make airflow` in a terminal is the foreground group
            # Ctrl-C as a terminal delivers it, even if this test runs with SIGINT ignored (started in background)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    sessions = {script.pid}
    try:
        password = admin_password(home, timeout=240, alive=lambda: script.poll() is None)
        api = AirflowAPI(f"http://localhost:{port}", "admin", password)
        api.wait_healthy(timeout=240, alive=lambda: script.poll() is None)
        wait_for(lambda: "make airflow-password" in terminal.read_text(), 60, "banner", lambda: script.poll() is None)
        banner = terminal.read_text()
        assert f"news-etl Airflow UI: http://localhost:{port}" in banner
        assert f"password: {password}" in banner

        # Requests show in the access log under the Airflow home, not in the terminal.
        api.call("GET", "/api/v2/version")
        api.call("GET", "/api/v2/dags")
        access = home / "logs" / "api-server-access.log"
        wait_for(lambda: access.exists() and "/api/v2/dags" in access.read_text(), 30, "access log line")
        assert "request finished" in access.read_text()
        assert not [line for line in terminal.read_text().splitlines() if "http.access" in line]

        # The banner on request: `make airflow-password`.
        again = subprocess.run(
            ["make", "-s", "airflow-password"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
        )
        assert again.returncode == 0, again.stderr
        assert f"http://localhost:{port}" in again.stdout and f"password: {password}" in again.stdout
        assert "nothing answers" not in again.stdout

        # Ctrl-C while a night's task runs: its task process must stop too.
        api.wait_dag("news_nightly", alive=lambda: script.poll() is None)
        api.unpause("news_nightly")
        run_id = api.trigger("news_nightly", {"date": SAMPLE_DATES[0].isoformat()})

        def a_task_runs() -> bool:
            return any(ti["state"] == "running" for ti in api.task_instances("news_nightly", run_id))

        wait_for(a_task_runs, 180, "running task", lambda: script.poll() is None)

        # Ctrl-C: SIGINT to the script's process group, as the terminal sends it.
        started = psutil.Process(script.pid).children(recursive=True)
        sessions |= {os.getsid(p.pid) for p in started}
        assert len(sessions) == 2  # the script's, and the one it gives Airflow
        assert len(started) > 10  # standalone, its four parts, the log servers, the LocalExecutor's workers
        os.killpg(script.pid, signal.SIGINT)
        began = time.monotonic()
        assert script.wait(timeout=STOP_BOUND) == 130
        wait_for(lambda: not sessions_alive(sessions), STOP_BOUND - (time.monotonic() - began), "stop")
        assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert "Airflow stopped" in terminal.read_text()
        assert "stopping Airflow" in terminal.read_text()
        print(f"stopped in {time.monotonic() - began:.1f} s")
    finally:
        for process in sessions_alive(sessions):
            process.kill()

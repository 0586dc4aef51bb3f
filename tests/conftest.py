"""Shared fixtures: the real spaCy model, the shipped sample corpus, a lake built from it once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from airflow_api import AirflowAPI, admin_password

# Airflow reads its configuration when first imported: point it at a private home before any test does.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="news-etl-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parent.parent / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

from pipeline.config import Settings  # noqa: E402
from pipeline.nlp import load_model  # noqa: E402

REPO = Path(__file__).parent.parent
SAMPLE_RAW = REPO / "samples" / "raw"
SAMPLE_DATES = sorted(date.fromisoformat(p.name) for p in SAMPLE_RAW.iterdir() if p.is_dir())
SHARED = REPO.parent / "shared"
# The browser tests: Debian's chromium driven by Playwright (never a browser download); screenshots land here.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
needs_chromium = pytest.mark.skipif(
    not shutil.which("chromium"), reason="Debian's chromium is not installed (make test installs it with apt)"
)
# A short invented story the extraction tests share: a full name, its surname alone, a place, a dateline.
STORY = (
    "Hoffmann wins backing for budget plan\n\n"
    "BERLIN, Nov 24 - German Finance Minister Clara Hoffmann won cabinet backing on Tuesday for a budget "
    "that trims spending by 12 billion euros. Hoffmann told reporters the plan was fair. "
    "Jonas Brandt, the opposition leader, said Brandt's party would vote against it.\n\n"
    "Officials in Washington welcomed the plan."
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


TIERS = ("unit", "integration", "e2e")  # registered in pyproject.toml; `make test-fast` runs `-m unit`


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A test module without a tier marker (`pytestmark = pytest.mark.unit`...) fails to collect: none is forgotten."""
    report = yield
    if isinstance(collector, pytest.Module) and report.passed:
        if not any(collector.get_closest_marker(tier) for tier in TIERS):
            report.outcome = "failed"
            report.longrepr = (
                f"{collector.path.name}: no tier marker; add `pytestmark = pytest.mark.<{'|'.join(TIERS)}>`"
            )
    return report


@pytest.fixture(scope="session")
def nlp():
    settings = Settings.from_env(env={})
    return load_model(settings.model, settings.exclude)


def make_settings(root: Path, raw_root: Path | None = None, **overrides: object) -> Settings:
    return Settings.from_env(env={}, data_root=root, raw_root=raw_root or root / "raw", **overrides)


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample corpus run once through the CLI path, views built: shared by read-only tests."""
    from pipeline.run import run_partition
    from pipeline.views import build_database

    settings = make_settings(tmp_path_factory.mktemp("sample"), raw_root=SAMPLE_RAW)
    for day in SAMPLE_DATES:
        run_partition(settings, day)
    build_database(settings.lake, settings.db)
    return settings


@contextmanager
def browser_page(last_screenshot: str) -> Iterator:
    """A Playwright page in Debian's chromium, pinned to UTC; its last state is saved to ARTIFACTS."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # The UI reads typed dates in its own timezone setting, which defaults to the browser's: pin both to UTC.
        context = browser.new_context(timezone_id="UTC", viewport={"width": 1400, "height": 900})
        context.add_init_script("window.localStorage.setItem('timezone', 'UTC')")
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            page.screenshot(path=ARTIFACTS / last_screenshot, full_page=True)
            browser.close()


def log_in(page, server: AirflowServer) -> None:
    """Sign in to Airflow's UI as admin."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/auth/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dags", exact=True)).to_be_visible(timeout=30_000)  # translations load late


def sample_files(day: date) -> list[Path]:
    return sorted(p for p in (SAMPLE_RAW / day.isoformat()).rglob("*") if p.is_file())


class AirflowServer:
    """`scripts/airflow.sh` (airflow standalone) on a free port with its own data root, for end-to-end tests."""

    def __init__(self, data_root: Path, port: int) -> None:
        self.data_root, self.port = data_root, port
        self.url = f"http://localhost:{port}"
        self.log_path = data_root / "airflow-standalone.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_"))}
        env |= {"NEWS_DATA_ROOT": str(data_root), "AIRFLOW_PORT": str(port), "AIRFLOW_HOST": "127.0.0.1"}
        env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] = "5"
        env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "True"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "airflow.sh")],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every part
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 180) -> None:
        """Until the admin password is written, Airflow is healthy and the DAG parsed; then `self.api` is set."""
        deadline = time.monotonic() + timeout
        try:
            self.password = admin_password(self.data_root / "airflow", timeout, alive=self.running)
            self.api = AirflowAPI(self.url, "admin", self.password)
            self.api.wait_healthy(timeout=deadline - time.monotonic(), alive=self.running)
            self.api.wait_dag("news_nightly", deadline - time.monotonic(), alive=self.running)
        except (TimeoutError, RuntimeError) as error:
            raise RuntimeError(f"airflow not ready: {error}; see {self.log_path}:\n{self.tail()}") from None

    def tail(self, lines: int = 60) -> str:
        """The log's last lines, less the dag-processor's: it reparses every 5 s and would fill the tail alone."""
        log = self.log_path.read_text(errors="replace").splitlines()
        kept = [line for line in log if "dag-processor |" not in line]
        return "\n".join(kept[-lines:])

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                # the group may outlive its leader: make sure every part is gone
                os.killpg(self.process.pid, 0)
                time.sleep(1)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
        self.log.close()


def free_port_block(size: int = 3) -> int:
    """A port p with p .. p+size-1 all free (api-server, then the two log servers)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65535:
            continue
        try:
            for offset in range(size):
                with socket.socket() as s:
                    s.bind(("0.0.0.0", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A running Airflow for this project, with the sample corpus under its own dates and three more."""
    data_root = tmp_path_factory.mktemp("airflow-e2e")
    for day in SAMPLE_DATES:
        shutil.copytree(SAMPLE_RAW / day.isoformat(), data_root / "raw" / day.isoformat())
        shutil.copytree(SAMPLE_RAW / day.isoformat(), data_root / "raw" / (day - timedelta(days=7)).isoformat())
    server = AirflowServer(data_root, free_port_block())
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()

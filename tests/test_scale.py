"""Scaling out: the nightly DAG on two Celery workers makes the same lake as on the LocalExecutor.

`scripts/scale_demo.sh` (what `make scale-demo` runs: PostgreSQL, Redis, scheduler, dag-processor, api-server
and two Celery workers with hostnames of their own) runs with CeleryExecutor (lake on disk, then landing folder
and lake on an S3 server) and with LocalExecutor, over the same sample date, each into its own data root.
About two and a half minutes; run it alone with
`pytest tests/test_scale.py`. Needs root (UTS namespaces for the workers' hostnames; `make test` installs
postgresql and redis-server with apt as root): skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_RAW
from pipeline.lake import committed_runs, read_run_table
from pipeline.registry import committed_tables, table
from pipeline.tables import read_parquet

DAY = "2026-11-24"
WORKERS = {"news-worker-1", "news-worker-2"}
IGNORED = {"run_id", "started_at", "finished_at"}  # differ from run to run by nature


def missing_requirement() -> str | None:
    if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
        return "cannot create UTS namespaces (needs root): the workers' hostnames come from them"
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which("redis-server"):
        return "postgresql and redis-server are not installed (`make services` installs them as root)"
    return None


MISSING = missing_requirement()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(MISSING is not None, reason=f"scale-out test skipped: {MISSING}")]


def run_scale_demo(data_root: Path, executor: str, storage: str = "local") -> Path:
    """The script as a user runs it, its output in DATA_ROOT/scale_demo.log (shown on failure)."""
    log_path = data_root / "scale_demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_", "SCALE_"))}
    env |= {
        "NEWS_DATA_ROOT": str(data_root),
        "NEWS_RAW_ROOT": str(SAMPLE_RAW),
        "NEWS_FILES_PER_SHARD": "3",
        "SCALE_DATE": DAY,
        "SCALE_EXECUTOR": executor,
        "SCALE_STORAGE": storage,
        "SCALE_TIMEOUT": "300",
    }
    with log_path.open("wb") as log:
        script = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "scale_demo.sh")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGTERM to its group reaches the script and its REST client at once
        )
        try:
            script.wait(timeout=480)
        except subprocess.TimeoutExpired:
            os.killpg(script.pid, signal.SIGTERM)  # the script's trap stops every component it started
            script.wait(timeout=90)
    if script.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-80:])
        pytest.fail(f"scale_demo.sh ({executor}) exited {script.returncode}; {log_path}:\n{tail}")
    return data_root


@pytest.fixture(scope="module")
def celery_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_scale_demo(tmp_path_factory.mktemp("scale-celery"), "CeleryExecutor")


@pytest.fixture(scope="module")
def celery_s3_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Landing folder and lake on an S3 server, credentials in an Airflow connection: no shared disk at all."""
    return run_scale_demo(tmp_path_factory.mktemp("scale-celery-s3"), "CeleryExecutor", "s3")


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_scale_demo(tmp_path_factory.mktemp("scale-local"), "LocalExecutor")


def task_instances(data_root: Path) -> list[dict]:
    return json.loads((data_root / "cluster" / "task-instances.json").read_text())


@pytest.mark.parametrize("root", ["celery_root", "celery_s3_root"])
def test_extract_shards_ran_on_both_workers(root: str, request: pytest.FixtureRequest) -> None:
    tis = task_instances(request.getfixturevalue(root))
    assert {t["state"] for t in tis} == {"success"}
    extract = [t for t in tis if t["task_id"] == "extract"]
    assert len(extract) >= 4, "13 files at 3 per shard should make at least 4 mapped extract tasks"
    assert sorted(t["map_index"] for t in extract) == list(range(len(extract)))
    assert {t["hostname"] for t in extract} == WORKERS, "each worker should have run at least one shard"
    assert {t["hostname"] for t in tis} <= WORKERS  # plan, commit and refresh_views ran on the workers too


def current_rows(lake: Path, name: str) -> list[dict]:
    run_id = committed_runs(lake, DAY)[-1]
    if name == "runs":  # one file per run, named by the run id alone
        rows = read_parquet(lake / "runs" / f"date={DAY}" / f"{run_id}.parquet").to_pylist()
        for row in rows:  # its files are named by the run: the same files, whatever the run id
            row["files"] = sorted(path.replace(run_id, "<run>") for path in row["files"])
    else:
        rows = read_run_table(lake, table(name), DAY, run_id).to_pylist()
    # The same NEWS_FILES_PER_SHARD on both sides: even the runs' shard counts must agree.
    return sorted(({k: v for k, v in row.items() if k not in IGNORED} for row in rows), key=repr)


@pytest.mark.parametrize("table", [t.name for t in committed_tables()])
@pytest.mark.parametrize("root", ["celery_root", "celery_s3_root"])
def test_celery_lake_has_the_rows_of_the_local_executor_lake(
    root: str, table: str, local_root: Path, request: pytest.FixtureRequest
) -> None:
    data_root = request.getfixturevalue(root)
    # With SCALE_STORAGE=s3 the lake was written through the S3 API into the folder the server serves.
    lake = data_root / "s3" / "news" / "lake" if root == "celery_s3_root" else data_root / "lake"
    celery, local = current_rows(lake, table), current_rows(local_root / "lake", table)
    if table in ("documents", "sentences", "entities", "runs"):
        assert local, f"the LocalExecutor run wrote no {table} rows"
    assert len(celery) == len(local)
    assert celery == local

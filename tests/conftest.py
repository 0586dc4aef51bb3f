"""Shared fixtures: the real spaCy model, the shipped sample corpus, a lake built from it once."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


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


def sample_files(day: date) -> list[Path]:
    return sorted(p for p in (SAMPLE_RAW / day.isoformat()).rglob("*") if p.is_file())

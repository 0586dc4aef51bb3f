"""The nightly DAG: imports cleanly in a real DagBag, and a full dag.test() run fills the lake."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, sample_files
from pipeline.registry import TABLES, committed_tables
from pipeline.search.index import read_state

pytestmark = pytest.mark.integration

AIRFLOW = Path(sys.executable).parent / "airflow"


@pytest.fixture(scope="module")
def airflow_db():
    """A migrated SQLite metadata database in the test session's AIRFLOW_HOME."""
    subprocess.run([str(AIRFLOW), "db", "migrate"], check=True, capture_output=True)


@pytest.fixture
def dagbag(airflow_db):
    """A fresh parse per test: dag.test() leaves its run_conf in the DAG's params."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dagbag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    dag = dagbag.dags["news_nightly"]
    assert dag is not None
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:4] == ["plan", "extract", "commit", "check"]
    assert set(order[4:]) == {"refresh_views", "checks_passed", "index_search"}
    assert dag.get_task("refresh_views").upstream_task_ids == {"commit", "check"}
    assert dag.catchup is False
    assert all(t.retries >= 1 and t.execution_timeout is not None for t in dag.tasks)


def test_schedule_processes_the_previous_day(dagbag):
    dag = dagbag.dags["news_nightly"]
    interval = dag.timetable.infer_manual_data_interval(run_after=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    assert interval.start == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert interval.end == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_dag_run_over_the_sample_corpus(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWS_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("NEWS_RAW_ROOT", str(SAMPLE_RAW))
    monkeypatch.setenv("NEWS_FILES_PER_SHARD", "5")  # several mapped extract tasks
    dag = dagbag.dags["news_nightly"]
    day = SAMPLE_DATES[1]
    run = dag.test(run_conf={"date": day.isoformat()})
    assert run.state == "success"
    n_files = len(sample_files(day))
    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:
        shards, seen, docs, rejects, duplicates = con.execute(
            "select shards, files_seen, documents, rejects, duplicates from runs where is_current"
        ).fetchone()
        assert (seen, docs + rejects) == (n_files, n_files)
        assert shards == 3
        assert con.execute("select count(distinct date) from documents").fetchone() == (1,)
        assert con.execute("select count(*) from entities").fetchone()[0] > 100
        counts = {t.name: con.execute(f"select count(*) from lake.{t.name}").fetchone()[0] for t in TABLES}
        (etl_run_id,) = con.execute("select run_id from current_runs").fetchone()
    # The search index holds the committed run, beside the database.
    assert read_state(tmp_path / "news.search").runs() == {day.isoformat(): etl_run_id}
    # Every lake table is an asset; the commit's event on each says which date, how many rows and what the date
    # produced; the check task's, on the checks table, says how the checks went.
    events = asset_events(run.run_id)
    assert set(events) == {f"news_lake_{t.name}" for t in TABLES}
    produced = {"files": n_files, "documents": docs, "rejects": rejects}
    for table in committed_tables():
        assert (
            events[f"news_lake_{table.name}"]
            == {
                "date": day.isoformat(),
                "run_id": etl_run_id,
                "rows": counts[table.name],
            }
            | produced
        )
    checks = events["news_lake_checks"]
    expected = {"date": day.isoformat(), "run_id": etl_run_id, **produced, "failing": []}
    assert checks == expected | {"checks": checks["checks"]}
    assert checks["checks"]["fail"] == [] and len(checks["checks"]["pass"]) == counts["checks"]
    # The run's note (the runs list, the run's page) says which date it processed and what came of it.
    assert run_note(run.run_id) == (
        f"**{day}**: {n_files} files → {docs} documents ({duplicates} exact duplicates), "
        f"{rejects} rejects; lake run `{etl_run_id}`"
    )


def asset_events(dag_run_id: str) -> dict[str, dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == dag_run_id)
        ).all()
    return {name: extra for name, extra in rows}


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def xcom(dag_run_id: str, task_id: str, key: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(XComModel.value).where(
                XComModel.run_id == dag_run_id, XComModel.task_id == task_id, XComModel.key == key
            )
        )


def test_a_scheduled_night_without_files_fails_its_checks_and_still_refreshes(
    dagbag, tmp_path, monkeypatch, capfd, caplog
):
    monkeypatch.setenv("NEWS_DATA_ROOT", str(tmp_path))  # tmp_path/raw does not exist: no landing folder
    dag = dagbag.dags["news_nightly"]
    run = dag.test(logical_date=datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # the 02:00 run for the 23rd
    assert run.state == "failed"
    states = task_states(run)
    assert states == {
        "plan": "success",
        "extract": "success",
        "commit": "success",
        "check": "failed",
        "refresh_views": "success",
        "checks_passed": "failed",
        "index_search": "success",
    }
    # The failing check's message comes first in the check task's log, and in its exception.
    logged = [r.getMessage() for r in caplog.records if r.name == "pipeline.checks"]
    assert logged[0].startswith("fail  landing_folder [error]: no files in the landing folder (0 ignored")
    assert logged[-1].endswith("13 pass, 0 warn, 1 fail (landing_folder)")
    out, err = capfd.readouterr()
    assert "AirflowFailException: landing_folder: no files in the landing folder" in out + err
    summary = xcom(run.run_id, "check", "checks")  # what the date produced, even though the task failed
    assert summary["date"] == "2026-11-23" and (summary["files"], summary["documents"], summary["rejects"]) == (0, 0, 0)
    assert summary["checks"]["fail"] == ["landing_folder"]
    assert "news_lake_checks" not in asset_events(run.run_id)  # a failed check run publishes no checks event
    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:  # refreshed after the checks
        assert con.execute("select check_name from checks where status = 'fail'").fetchall() == [("landing_folder",)]

    # The same day, run by hand and said to be empty: green, and the views show the checks passing.
    run = dagbag.dags["news_nightly"].test(run_conf={"date": "2026-11-23", "expect_empty": True})
    assert run.state == "success"
    assert task_states(run)["checks_passed"] == "success"
    assert xcom(run.run_id, "checks_passed", "return_value")["checks"]["fail"] == []
    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from checks where is_current and status != 'pass'").fetchone() == (0,)


def test_run_without_a_date_takes_its_data_interval_day(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWS_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("NEWS_RAW_ROOT", str(SAMPLE_RAW))
    dag = dagbag.dags["news_nightly"]
    # A run at 02:00 on the 24th covers the day that just ended: its data interval is the 23rd.
    run = dag.test(logical_date=datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    assert run.state == "success"
    assert run.data_interval_start == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert sorted(p.name for p in (tmp_path / "lake" / "documents").glob("date=*")) == ["date=2026-11-23"]


def test_a_bad_date_is_refused_when_the_run_is_triggered(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="'2026-02-30' is not a 'date'"):
        dagbag.dags["news_nightly"].test(run_conf={"date": "2026-02-30"})


def test_a_bad_setting_fails_the_task_at_once_with_the_clear_message(dagbag, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("NEWS_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("NEWS_RAW_ROOT", str(SAMPLE_RAW))
    monkeypatch.setenv("NEWS_MODEL", "xx_no_such_model")
    run = dagbag.dags["news_nightly"].test(run_conf={"date": SAMPLE_DATES[0].isoformat()})
    assert run.state == "failed"
    out, err = capfd.readouterr()  # the task log, as Airflow's structlog writes it
    assert "AirflowFailException: news-etl: spaCy model 'xx_no_such_model' is not installed" in out + err
    plan = next(ti for ti in run.get_task_instances() if ti.task_id == "plan")
    assert plan.try_number == 1  # not retried: a missing model will not install itself
    assert not (tmp_path / "lake" / "documents").exists()
    assert run_note(run.run_id) == f"**{SAMPLE_DATES[0]}**: failed before its commit: nothing changed in the lake"


def test_a_backfill_run_processes_its_own_day_whatever_the_date_parameter():
    """The Backfill dialog gives every run of the range the same parameters: a date there would make every run
    process that one day. Other runs take it."""
    from pipeline.airflow_tasks import run_day

    interval_start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    run_after = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert run_day("2026-11-01", "backfill", interval_start, run_after).isoformat() == "2026-11-23"
    assert run_day(None, "backfill", interval_start, run_after).isoformat() == "2026-11-23"
    assert run_day("2026-11-01", "manual", interval_start, run_after).isoformat() == "2026-11-01"
    assert run_day(None, "manual", None, run_after).isoformat() == "2026-11-23"  # no logical date: the day before


def run_note(dag_run_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.run_id == dag_run_id)).one()
        return run.note


def test_loading_the_ui_plugin_leaves_the_web_app_unimported():
    """Every Airflow process loads the plugins, task processes too: only the api-server builds the web app."""
    probe = (
        "import sys; from airflow import plugins_manager; plugins_manager.integrate_macros_plugins(); "
        "names = [p.name for p in plugins_manager._get_plugins()[0]]; "
        "print('news_etl_ui' in names, any(m in sys.modules for m in ('fastapi', 'pipeline.web', 'altair')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "False"]

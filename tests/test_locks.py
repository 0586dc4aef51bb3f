"""One run per date at a time (a lock in the lake), and the newest plan always wins over an older one."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.errors import DateBusy, UserError
from pipeline.lake import committed_runs
from pipeline.locks import lock_dir, locks
from pipeline.run import commit_run, plan_run, process_shard

pytestmark = pytest.mark.integration

DAY = SAMPLE_DATES[0]
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def settings(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / DAY.isoformat(), raw / DAY.isoformat())
    return make_settings(tmp_path, raw_root=raw)


def finish(settings, plan):
    for shard in range(plan["n_fresh"]):
        process_shard(settings, plan["run_id"], shard)
    return commit_run(settings, plan["run_id"])


def test_a_second_run_of_a_date_is_refused_until_the_first_commits(settings):
    first = plan_run(settings, DAY)
    with pytest.raises(DateBusy, match=f"{DAY} is being processed by run {first['run_id']}"):
        plan_run(settings, DAY)
    assert [lock.run_id for lock in locks(settings.lake, DAY.isoformat())] == [first["run_id"]]
    finish(settings, first)
    assert locks(settings.lake, DAY.isoformat()) == []  # the commit frees the date
    finish(settings, plan_run(settings, DAY))


def test_dead_locks_are_taken_over(settings):
    day = DAY.isoformat()
    held = plan_run(settings, DAY, owner="airflow:news_nightly/manual__1")
    # The same Airflow run planning again (its plan task retried) takes its own date back at once.
    again = plan_run(settings, DAY, owner="airflow:news_nightly/manual__1")
    assert [lock.run_id for lock in locks(settings.lake, day)] == [again["run_id"]]
    # A lock not heard from for longer than the stale limit is dead.
    path = lock_dir(settings.lake, day) / f"{again['run_id']}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"heartbeat": time.time() - 3600}))
    third = plan_run(settings, DAY)
    assert [lock.run_id for lock in locks(settings.lake, day)] == [third["run_id"]]
    # A command-line run whose process is gone (killed) holds nothing.
    path = lock_dir(settings.lake, day) / f"{third['run_id']}.json"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.write_text(json.dumps(json.loads(path.read_text()) | {"pid": int(gone.stdout)}))
    finish(settings, plan_run(settings, DAY))
    assert held["run_id"] not in committed_runs(settings.lake, day)


def test_an_older_plan_never_replaces_a_newer_commit(settings):
    older = plan_run(settings, DAY)
    (lock_dir(settings.lake, DAY.isoformat()) / f"{older['run_id']}.json").unlink()  # as if it had gone stale
    newer = plan_run(settings, DAY)
    finish(settings, newer)
    with pytest.raises(UserError, match=f"run {newer['run_id']}, planned later, is already committed"):
        finish(settings, older)
    assert committed_runs(settings.lake, DAY.isoformat())[-1] == newer["run_id"]


def test_two_command_line_runs_of_one_date(settings):
    folder = settings.raw_root / DAY.isoformat()
    for n in range(20):  # enough distinct stories that the first run is still going when the second starts
        for story in sorted(SAMPLE_RAW.glob(f"{DAY}/*.txt")):
            (folder / f"copy{n:02d}_{story.name}").write_text(story.read_text() + f"\nCopy {n}.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    args = ["run", "--date", DAY.isoformat(), "--raw-root", str(settings.raw_root), "--lake", str(settings.lake)]
    args += ["--db", str(settings.db)]
    first = subprocess.Popen([f"{BIN}/news-etl", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not locks(settings.lake, DAY.isoformat()) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    second = subprocess.run([f"{BIN}/news-etl", *args], env=env, capture_output=True, text=True)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2
    problems = [line for line in second.stderr.splitlines() if " INFO " not in line]  # the log says it started
    assert len(problems) == 1 and problems[0].startswith(f"news-etl: error: {DAY} is being processed by run ")
    assert len(committed_runs(settings.lake, DAY.isoformat())) == 1


def test_another_date_plans_at_every_step_of_a_new_lakes_first_commit(tmp_path, monkeypatch):
    """A lake without a runs table yet: a runs row with no commit intent beside it is release 0.1's (migrate.py).
    The first commit must never show one, or a run of another date planning meanwhile takes the lake for 0.1's,
    waits for the committing date's lock and, in Airflow, retries its plan 5 minutes later."""
    import pipeline.lake as lake
    from pipeline.migrate import old_layout

    raw = tmp_path / "raw"
    first, other = SAMPLE_DATES[0], SAMPLE_DATES[1]
    for day in (first, other):
        shutil.copytree(SAMPLE_RAW / day.isoformat(), raw / day.isoformat())
    settings = make_settings(tmp_path, raw_root=raw)
    plan = plan_run(settings, first)
    for shard in range(plan["n_fresh"]):
        process_shard(settings, plan["run_id"], shard)

    steps, planning = [], []

    def then_plan_the_other_date(write):
        def write_and_plan(*args, **kwargs):
            written = write(*args, **kwargs)
            if not planning:  # the plan writes too
                planning.append(True)
                steps.append(old_layout(settings.lake))
                plan_run(settings, other, owner="airflow:news_nightly/other")  # DateBusy if taken for 0.1's
                planning.clear()
            return written

        return write_and_plan

    monkeypatch.setattr(lake, "write_rows", then_plan_the_other_date(lake.write_rows))
    monkeypatch.setattr(lake, "write_json", then_plan_the_other_date(lake.write_json))
    commit_run(settings, plan["run_id"])
    monkeypatch.undo()
    assert steps and not any(steps)
    assert committed_runs(settings.lake, first.isoformat()) == [plan["run_id"]]
    finish(settings, plan_run(settings, other, owner="airflow:news_nightly/other"))

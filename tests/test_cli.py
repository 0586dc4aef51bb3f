"""`news-etl` as a user runs it: a subprocess, real files, one-line errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"


def news_etl(*args, cwd=None):
    return subprocess.run([str(NEWS_ETL), *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_run_views_sql(tmp_path):
    day = SAMPLE_DATES[-1].isoformat()
    ran = news_etl("run", "--date", day, "--data-root", tmp_path, "--raw-root", SAMPLE_RAW)
    assert ran.returncode == 0, ran.stderr
    assert f"{day}: 14 files -> 13 documents (1 exact duplicates), 1 rejects" in ran.stdout
    assert "shard 0 done" in ran.stderr
    assert news_etl("views", "--data-root", tmp_path).returncode == 0
    answer = news_etl("sql", "--data-root", tmp_path, "select count(*) as n from documents")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == "n\n13\n"  # to a pipe: CSV
    table = news_etl("sql", "--data-root", tmp_path, "--format", "table", "select count(*) as n from documents")
    assert "13" in table.stdout and "│" in table.stdout


def test_data_root_from_the_environment(tmp_path):
    import os

    env = {**os.environ, "NEWS_DATA_ROOT": str(tmp_path), "NEWS_RAW_ROOT": str(SAMPLE_RAW)}
    ran = subprocess.run(
        [str(NEWS_ETL), "run", "--date", SAMPLE_DATES[0].isoformat()], capture_output=True, text=True, env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "news.duckdb").exists()
    assert (tmp_path / "lake" / "documents").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2026-13-45"], "invalid date '2026-13-45'"),
        (["run", "--date", "24/11/2026"], "invalid date"),
        (["run", "--date", "2026-11-24", "--raw-root", "/nonexistent"], "no landing folder for 2026-11-24"),
        (
            ["run", "--date", "2026-11-24", "--raw-root", SAMPLE_RAW, "--model", "xx_no_such_model"],
            "not installed",
        ),
        (["run", "--date", "2026-11-24", "--workers", "0"], "must be at least 1"),
        (["run"], "the following arguments are required: --date"),
        (["sql", "select 1"], "no database at"),
        (["views"], "no committed partition"),
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(tmp_path, args, message):
    result = news_etl(*args, "--data-root", tmp_path) if args[0] != "run" or len(args) > 1 else news_etl(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert not list(tmp_path.glob("lake/*/date=*/*.parquet"))


def test_unwritable_lake_is_a_clear_error(tmp_path):
    lake = tmp_path / "lake"
    lake.write_text("a file where the lake folder should be")
    result = news_etl("run", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--lake", lake)
    assert result.returncode == 2
    assert "is not writable" in result.stderr


def test_sql_errors_are_one_line(sample_lake):
    result = news_etl("sql", "--db", sample_lake.db, "select nope from documents")
    assert result.returncode == 2
    assert 'Referenced column "nope" not found' in result.stderr
    assert "Traceback" not in result.stderr

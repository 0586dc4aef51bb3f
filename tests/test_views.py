"""The DuckDB database: built from sql/, readable by the duckdb CLI, rebuilt while analysts hold it open."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline.errors import UserError
from pipeline.run import run_partition
from pipeline.views import build_database, view_sources

pytestmark = pytest.mark.integration

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"


def test_one_view_per_sql_file(sample_lake):
    files = sorted(p.stem for layer in ("staging", "marts") for p in (REPO / "sql" / layer).glob("*.sql"))
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        views = sorted(r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall())
    assert views == files
    assert {"documents", "sentences", "entities", "rejects", "runs"} <= set(views)


def test_marts_answer(sample_lake):
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        top = con.execute(
            "select canonical, sum(mentions) from entity_mentions_daily group by canonical order by 2 desc limit 1"
        ).fetchone()
        pairs = con.execute("select count(*) from entity_cooccurrence where documents > 1").fetchone()[0]
    assert top[1] > 3
    assert pairs > 0


def test_duckdb_cli_opens_the_database_from_any_folder(sample_lake, tmp_path):
    assert DUCKDB_CLI.exists(), "duckdb-cli is a dev dependency"
    result = subprocess.run(
        [str(DUCKDB_CLI), str(sample_lake.db), "-csv", "-c", "select count(*) from documents"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["count_star()", "38"]


def test_rebuild_while_a_reader_holds_the_database(sample_lake, tmp_path):
    db = tmp_path / "news.duckdb"
    shutil.copy(sample_lake.db, db)
    for read_only in (True, False):
        reader = duckdb.connect(str(db), read_only=read_only)
        build_database(sample_lake.lake, db)  # neither fails nor waits
        assert reader.execute("select count(*) from documents").fetchone() == (38,)
        reader.close()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from documents").fetchone() == (38,)


def test_lake_path_with_quotes_is_quoted_not_pasted(tmp_path):
    root = tmp_path / 'it\'s "quoted"; drop table x;--'
    settings = make_settings(root, raw_root=SAMPLE_RAW)
    run_partition(settings, SAMPLE_DATES[0])
    build_database(settings.lake, settings.db)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        assert con.execute("select count(*) from documents").fetchone()[0] > 0
    assert "it''s" in dict(view_sources(settings.lake))["documents"]


def test_views_on_an_empty_lake_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no committed partition"):
        build_database(tmp_path / "lake", tmp_path / "news.duckdb")


def test_rebuild_while_the_duckdb_cli_holds_the_database(sample_lake, tmp_path):
    """An analyst's `duckdb news.duckdb` session (read-write, the CLI's default) neither blocks nor breaks."""
    db = tmp_path / "news.duckdb"
    shutil.copy(sample_lake.db, db)
    analyst = subprocess.Popen(
        [str(DUCKDB_CLI), str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        analyst.stdin.write("select count(*) from documents;\n")
        analyst.stdin.flush()
        time.sleep(1)  # the CLI has opened the file and holds its lock
        assert analyst.poll() is None
        build_database(sample_lake.lake, db)
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("select count(*) from documents").fetchone() == (38,)
        analyst.stdin.write("select count(*) as still_working from documents;\n.quit\n")
        out, _ = analyst.communicate(timeout=30)
    finally:
        analyst.kill()
    assert out.count("38") == 2

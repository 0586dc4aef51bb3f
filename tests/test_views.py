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
from pipeline.registry import TABLES
from pipeline.run import run_partition
from pipeline.views import build_database, lake_files, query, view_sources

pytestmark = pytest.mark.integration

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"


def test_a_view_per_table_and_per_sql_file(sample_lake):
    tables = [t.name for t in TABLES]
    files = [p.stem for layer in ("staging", "marts") for p in (REPO / "sql" / layer).glob("*.sql")]
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        views = con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    assert sorted(name for schema, name in views if schema == "main") == sorted(set(tables + files))
    assert sorted(name for schema, name in views if schema == "lake") == sorted([*tables, "current_runs"])


def test_views_have_the_declared_columns(sample_lake):
    """lake.<table> has exactly the registry's columns (key and date first); a staging view may only add some."""
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        for table in TABLES:
            declared = [name for name, _, _ in table.all_columns]
            lake = [c[0] for c in con.execute(f"describe lake.{table.name}").fetchall()]
            assert lake[:2] == [table.key, "date"]
            assert sorted(lake) == sorted([*declared, "date"])
            staging = [c[0] for c in con.execute(f"describe main.{table.name}").fetchall()]
            assert staging[: len(lake)] == lake


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
    assert "it''s" in next(
        v.select for v in view_sources(settings.lake, lake_files(settings.lake)) if v.name == "lake.documents"
    )


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


def test_the_database_records_the_lake_its_views_read(sample_lake):
    """So a query session knows which folder to allow, from any working directory and without --lake."""
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        comment = con.execute("select comment from duckdb_views() where view_name = 'runs' and schema_name = 'lake'")
        assert comment.fetchone() == (f"news-etl: views over the lake at {sample_lake.lake}",)
    assert query(sample_lake.db, "select count(*) from documents").fetchone() == (38,)

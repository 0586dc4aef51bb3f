"""End to end over the real BBC corpus (2,225 files) placed under one date. Read from ../shared at run
time, never copied into the repository; skipped when that folder is absent."""

import shutil
from datetime import date

import duckdb
import pytest

from conftest import SHARED, make_settings
from pipeline.run import run_partition
from pipeline.views import build_database

BBC = SHARED / "corpora" / "bbc"
DAY = date(2026, 11, 24)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not BBC.is_dir(), reason=f"BBC corpus not found at {BBC}: end-to-end test skipped"),
]


@pytest.fixture(scope="module")
def bbc_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("bbc")
    landing = root / "raw" / DAY.isoformat()
    shutil.copytree(BBC, landing, ignore=shutil.ignore_patterns("*.tsv", "README*"))
    settings = make_settings(root)
    run = run_partition(settings, DAY, workers=2)
    build_database(settings.lake, settings.db)
    return settings, run


def test_all_files_accounted_for(bbc_lake):
    settings, run = bbc_lake
    assert run["files_seen"] == 2225
    assert run["documents"] + run["rejects"] == 2225
    with duckdb.connect(str(settings.db), read_only=True) as con:
        assert con.execute("select count(*) from documents").fetchone() == (run["documents"],)
        assert con.execute("select count(*) from rejects").fetchone() == (run["rejects"],)
    assert run["rejects"] == 0


def test_latin1_file_is_decoded(bbc_lake):
    settings, _ = bbc_lake
    with duckdb.connect(str(settings.db), read_only=True) as con:
        text, encoding = con.execute(
            "select text, encoding from documents where source_path = ?", [f"{DAY}/sport/199.txt"]
        ).fetchone()
    assert encoding == "cp1252"
    assert "£" in text


def test_the_98_duplicates_are_marked(bbc_lake):
    settings, run = bbc_lake
    pairs = [line.split("\t") for line in (BBC / "DUPLICATES.tsv").read_text().splitlines()[1:]]
    assert run["duplicates"] == len(pairs) == 98
    with duckdb.connect(str(settings.db), read_only=True) as con:
        marked = dict(
            con.execute(
                "select d.source_path, o.source_path from documents d join documents o on d.duplicate_of = o.doc_id"
            ).fetchall()
        )
    assert marked == {f"{DAY}/{dup}": f"{DAY}/{kept}" for kept, dup in pairs}


def test_offsets_reproduce_mentions(bbc_lake):
    settings, _ = bbc_lake
    with duckdb.connect(str(settings.db), read_only=True) as con:
        bad = con.execute(
            """
            select count(*) from entities e join documents d using (doc_id)
            where substr(d.text, e.start_char + 1, e.end_char - e.start_char) <> e.text
            """
        ).fetchone()[0]
        total = con.execute("select count(*) from entities").fetchone()[0]
    assert total > 50_000
    assert bad == 0

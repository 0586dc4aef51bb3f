"""The entity marts sum per-date rollups the commit writes (pipeline/rollups.py): they count what the marts counted
from every mention before, and a lake committed before the rollups existed gets them from maintain or a rerun."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline import delta
from pipeline.checks import run_checks
from pipeline.config import Settings
from pipeline.lake import RUNS, current_runs, runs_row_path
from pipeline.maintain import maintain
from pipeline.rollups import ROLLUPS, missing_dates
from pipeline.run import run_partition
from pipeline.tables import read_parquet, write_atomic
from pipeline.views import build_database

pytestmark = pytest.mark.integration

# What the marts computed from every mention before the rollups (release before them), over main.entities.
OLD_DAILY = """
    select date, canonical_key, count(*) as mentions, count(distinct doc_id) as documents
    from main.entities where is_name group by date, canonical_key
"""
OLD_PAIRS = """
    with doc_entities as (select distinct {date} doc_id, canonical_key from main.entities where is_name)
    select {a_date} a.canonical_key as key_a, b.canonical_key as key_b, count(*) as documents,
        min(a.doc_id) as example_doc_id
    from doc_entities as a
    inner join doc_entities as b on a.doc_id = b.doc_id and a.canonical_key < b.canonical_key
    group by all
"""
# How often a key is named with a spelling (or label): the mart's spelling must be one of the most frequent.
NAME_COUNTS = """
    select {by} canonical_key, {column} as value, count(*) as n
    from main.entities where is_name group by all
"""


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def assert_most_frequent(
    con: duckdb.DuckDBPyConnection, mart: str, key: str, column: str, of: str, dated: bool
) -> None:
    """Each row's `column` (the entities column `of` for its `key`) is one of the key's most frequent values,
    which is what mode() chose (among equally frequent ones, any)."""
    by = "date," if dated else ""
    on = "m.date = c.date and" if dated else ""
    wrong = con.execute(
        f"""
        with counts as ({NAME_COUNTS.format(by=by, column=of)}),
        best as (select {by} canonical_key, max(n) as n from counts group by all)
        select count(*), count(c.n), count(*) filter (where c.n != b.n)
        from {mart} as m
        left join counts as c on {on} c.canonical_key = m.{key} and c.value = m.{column}
        left join best as b on {on.replace("c.", "b.")} b.canonical_key = m.{key}
        """
    ).fetchone()
    assert wrong[0] > 0 and wrong[1] == wrong[0] and wrong[2] == 0, (mart, column, wrong)


def test_marts_count_what_the_old_sql_counted(sample_lake: Settings) -> None:
    with duckdb.connect(str(sample_lake.db), read_only=True) as con:
        daily = rows(con, "select date, canonical_key, mentions, documents from entity_mentions_daily")
        assert daily == rows(con, OLD_DAILY) and len(daily) > 100
        assert_most_frequent(con, "entity_mentions_daily", "canonical_key", "canonical", "canonical", dated=True)
        assert_most_frequent(con, "entity_mentions_daily", "canonical_key", "label", "label", dated=True)

        pairs = rows(con, "select key_a, key_b, documents, example_doc_id from entity_cooccurrence")
        assert pairs == rows(con, OLD_PAIRS.format(date="", a_date="")) and any(p[2] > 1 for p in pairs)
        for side in ("a", "b"):
            assert_most_frequent(con, "entity_cooccurrence", f"key_{side}", f"entity_{side}", "canonical", dated=False)
            assert_most_frequent(
                con, "entity_cooccurrence_daily", f"key_{side}", f"entity_{side}", "canonical", dated=True
            )
        by_date = rows(con, "select date, key_a, key_b, documents, example_doc_id from entity_cooccurrence_daily")
        assert by_date == rows(con, OLD_PAIRS.format(date="date,", a_date="a.date,"))
        assert {r[0] for r in by_date} == set(SAMPLE_DATES)


def strip_rollups(settings: Settings) -> None:
    """The lake as a release before the rollups left it: no rollup table, no runs row listing one."""
    for table in ROLLUPS:
        shutil.rmtree(settings.lake / table.name)
    for day, run_id in current_runs(settings.lake).items():
        path = runs_row_path(settings.lake, day, run_id)
        row = read_parquet(path).to_pylist()[0]
        row["files"] = [f for f in row["files"] if f.split("/")[0] not in {t.name for t in ROLLUPS}]
        write_atomic(pa.Table.from_pylist([row], schema=RUNS.schema), path)


def mart(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return rows(con, sql)


def test_a_lake_from_before_the_rollups(sample_lake: Settings, tmp_path: Path) -> None:
    """Its marts lack the dates until maintain writes their rollups (the check says so meanwhile); then they
    answer as on a lake made with them. A rerun of a date that changed nothing computes them too."""
    shutil.copytree(sample_lake.lake, tmp_path / "lake")
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    strip_rollups(settings)
    expected = {
        name: mart(sample_lake.db, f"select * from {name}")
        for name in ("entity_mentions_daily", "entity_cooccurrence", "entity_cooccurrence_daily")
    }
    days = [d.isoformat() for d in SAMPLE_DATES]

    assert missing_dates(settings.lake, current_runs(settings.lake)) == days
    build_database(settings.lake, settings.db)
    assert mart(settings.db, "select * from entity_mentions_daily") == []
    outcome = run_checks(settings, SAMPLE_DATES[0])
    assert outcome.named("fail") == ["rollups"]
    assert "news-etl maintain" in next(r for r in outcome.results if r.check == "rollups").message

    rerun = run_partition(settings, SAMPLE_DATES[0])  # nothing changed: nothing analysed, the rollups computed
    assert rerun["rows"]["entity_mentions"] > 0
    assert missing_dates(settings.lake, current_runs(settings.lake)) == days[1:]
    report = maintain(settings, enforce_retention=False, rebuild_views=False)
    assert report.rolled_up == days[1:]
    assert missing_dates(settings.lake, current_runs(settings.lake)) == []
    assert maintain(settings, enforce_retention=False, rebuild_views=False).rolled_up == []

    build_database(settings.lake, settings.db)
    for name, before in expected.items():
        assert mart(settings.db, f"select * from {name}") == before, name
    for day in SAMPLE_DATES:
        assert run_checks(settings, day).failed == []


def test_a_rerun_that_changes_nothing_carries_the_rollups_over(sample_lake: Settings, tmp_path: Path) -> None:
    shutil.copytree(sample_lake.lake, tmp_path / "lake")
    settings = make_settings(tmp_path, raw_root=SAMPLE_RAW)
    day = SAMPLE_DATES[1].isoformat()
    before = {t.name: delta.partitions(delta.open_table(settings.lake, t))[day] for t in ROLLUPS}

    run_partition(settings, SAMPLE_DATES[1])

    after = {t.name: delta.partitions(delta.open_table(settings.lake, t))[day] for t in ROLLUPS}
    assert [f.path for fs in after.values() for f in fs] == [f.path for fs in before.values() for f in fs]

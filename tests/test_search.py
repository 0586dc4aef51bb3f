"""Search and attention over a real lake (the sample corpus, three dates), checked against a brute-force count
over the current documents' text: whole words, case-insensitive, by regular expression in Python."""

import dataclasses
import json
import logging
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW, make_settings
from pipeline import search
from pipeline.errors import UserError
from pipeline.lake import abandon, current_runs
from pipeline.locks import release
from pipeline.registry import run_tables
from pipeline.run import plan_run, process_shard, run_partition
from pipeline.search import index
from pipeline.search.index import STATE_FILE, plan_update, read_state
from pipeline.search.query import QueryError
from pipeline.search.schema import key
from pipeline.views import build_database

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
LETTERS = r"[^\W_]"  # what a word is made of: letters and digits


def has_word(text, word):
    return re.search(rf"(?<!{LETTERS}){re.escape(word)}(?!{LETTERS})", text or "", re.I) is not None


def has_phrase(text, phrase):
    pattern = r"[\W_]+".join(re.escape(w) for w in phrase.split())
    return re.search(rf"(?<!{LETTERS}){pattern}(?!{LETTERS})", text or "", re.I) is not None


def has_prefix(text, prefix):
    return re.search(rf"(?<!{LETTERS}){re.escape(prefix)}", text or "", re.I) is not None


def current_documents(settings):
    """doc_id -> what a brute-force match needs, for the current documents but exact duplicates."""
    with duckdb.connect(str(settings.db), read_only=True) as con:
        docs = {
            doc_id: {"date": day, "text": text, "title": title, "lang": lang, "entities": set(), "speakers": set()}
            for doc_id, day, text, title, lang in con.execute(
                "select doc_id, date, text, title, language from documents where duplicate_of is null"
            ).fetchall()
        }
        for doc_id, name in con.execute("select doc_id, canonical_key from entities").fetchall():
            if doc_id in docs and name is not None:
                docs[doc_id]["entities"].add(name)
        for doc_id, name in con.execute("select doc_id, coalesce(speaker_canonical, speaker) from quotes").fetchall():
            if doc_id in docs and name is not None:
                docs[doc_id]["speakers"].add(key(name))
    return docs


def cases(docs):
    """(query, the brute-force predicate) pairs: words, phrases, AND / OR / NOT, prefixes and every field."""
    entity = Counter(e for d in docs.values() for e in d["entities"]).most_common(1)[0][0]
    speaker = Counter(s for d in docs.values() for s in d["speakers"]).most_common(1)[0][0]
    return [
        ("budget", lambda d: has_word(d["text"], "budget")),
        ("BUDGET", lambda d: has_word(d["text"], "budget")),
        ("minister", lambda d: has_word(d["text"], "minister")),  # not "ministers": no stemming
        ('"finance minister"', lambda d: has_phrase(d["text"], "finance minister")),
        ("budget AND talks", lambda d: has_word(d["text"], "budget") and has_word(d["text"], "talks")),
        ("budget talks", lambda d: has_word(d["text"], "budget") and has_word(d["text"], "talks")),
        ("budget -talks", lambda d: has_word(d["text"], "budget") and not has_word(d["text"], "talks")),
        ("minister NOT budget", lambda d: has_word(d["text"], "minister") and not has_word(d["text"], "budget")),
        ("NOT minister", lambda d: not has_word(d["text"], "minister")),
        ("oil OR budget", lambda d: has_word(d["text"], "oil") or has_word(d["text"], "budget")),
        (
            "(oil OR budget) AND -minister",
            lambda d: (
                (has_word(d["text"], "oil") or has_word(d["text"], "budget")) and not has_word(d["text"], "minister")
            ),
        ),
        ("minist*", lambda d: has_prefix(d["text"], "minist")),
        ("title:budget", lambda d: has_word(d["title"], "budget")),
        (
            'title:"budget talks" OR title:oil',
            lambda d: has_phrase(d["title"], "budget talks") or has_word(d["title"], "oil"),
        ),
        (f'entity:"{entity}"', lambda d: entity in d["entities"]),
        (f'speaker:"{speaker}"', lambda d: speaker in d["speakers"]),
        ("lang:en", lambda d: d["lang"] == "en"),
        (f'lang:en -entity:"{entity}"', lambda d: d["lang"] == "en" and entity not in d["entities"]),
    ]


def check_against_brute_force(settings):
    docs = current_documents(settings)
    days = sorted({d["date"] for d in docs.values()})
    documents = Counter(d["date"] for d in docs.values())
    for query, matches in cases(docs):
        expected = {doc_id for doc_id, d in docs.items() if matches(d)}
        assert expected, query  # no case is trivially empty
        found = search.search(settings, query, limit=1000)
        assert {r["doc_id"] for r in found} == expected, query
        assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
        per_day = Counter(docs[doc_id]["date"] for doc_id in expected)
        rows = search.attention(settings, query)
        assert [r["date"] for r in rows] == days, query
        assert [(r["documents"], r["matching"]) for r in rows] == [(documents[d], per_day[d]) for d in days], query
    return docs


@pytest.fixture
def indexed(sample_lake, tmp_path):
    """The shared sample lake with an index of its own."""
    return dataclasses.replace(sample_lake, search_index=tmp_path / "index")


def test_counts_and_results_equal_a_brute_force_count(indexed):
    docs = check_against_brute_force(indexed)
    assert len({d["date"] for d in docs.values()}) == len(SAMPLE_DATES) == 3


def test_results_carry_date_title_score_and_a_marked_snippet(indexed):
    rows = search.search(indexed, '"finance minister"', limit=2)
    assert len(rows) == 2 and list(rows[0]) == ["doc_id", "date", "title", "score", "snippet"]
    assert isinstance(rows[0]["date"], date) and rows[0]["title"] and rows[0]["score"] > 0
    assert re.search(r"\*\*finance\*\* \*\*minister\*\*", rows[0]["snippet"], re.I)


def test_dates_ranges_and_empty_dates(indexed):
    first, last = SAMPLE_DATES[0], SAMPLE_DATES[-1]
    rows = search.attention(indexed, "budget", since=date(2026, 11, 20), until=last)
    assert [r["date"].isoformat() for r in rows[:4]] == ["2026-11-20", "2026-11-21", "2026-11-22", first.isoformat()]
    assert rows[0] == {"date": date(2026, 11, 20), "documents": 0, "matching": 0, "share": 0.0}
    assert all(r["share"] == r["matching"] / r["documents"] for r in rows if r["documents"])
    only = search.search(indexed, "budget", since=last, until=last, limit=100)
    assert only and {r["date"] for r in only} == {last}
    with pytest.raises(UserError, match="is after"):
        search.attention(indexed, "budget", since=last, until=first)


def test_a_malformed_query_is_refused_before_the_index_is_touched(indexed):
    with pytest.raises(QueryError, match="column 8"):
        search.search(indexed, "gaza AND")
    assert not indexed.search_index.exists()


def test_a_missing_old_or_damaged_index_is_rebuilt_never_read_stale(indexed, caplog):
    folder = indexed.search_index
    n = len(search.search(indexed, "budget", limit=100))  # no index yet: built
    record = json.loads((folder / STATE_FILE).read_text())
    (folder / STATE_FILE).write_text(json.dumps(record | {"format": 0}))  # an index of an older release
    with caplog.at_level(logging.WARNING):
        assert len(search.search(indexed, "budget", limit=100)) == n
    assert "built afresh: it has format 0" in caplog.text
    (folder / STATE_FILE).write_text("{not json")
    assert len(search.search(indexed, "budget", limit=100)) == n
    assert read_state(folder).runs() == current_runs(indexed.lake)
    for path in folder.iterdir():  # tantivy's own files lost: refused, with the way out
        if path.name.endswith(".store") or path.name == "meta.json":
            path.unlink()
    index._OPEN.clear()  # as a new process finds it (this one holds the old files open)
    with pytest.raises(UserError, match="cannot be read .*--rebuild"):
        search.search(indexed, "budget")
    report = search.update_index(indexed, rebuild=True)
    assert report.rebuilt == "asked to" and report.documents == sum(read_state(folder).documents().values())


@pytest.fixture(scope="module")
def own_lake(tmp_path_factory):
    """A copy of the sample corpus, committed date by date: for reruns."""
    root = tmp_path_factory.mktemp("search-reruns")
    shutil.copytree(SAMPLE_RAW, root / "raw")
    settings = make_settings(root, search_index=root / "index")
    for day in SAMPLE_DATES:
        run_partition(settings, day)
    build_database(settings.lake, settings.db)
    return settings


def test_a_rerun_with_a_changed_a_deleted_and_a_new_file_updates_exactly(own_lake):
    settings, day = own_lake, SAMPLE_DATES[1]
    check_against_brute_force(settings)
    before = read_state(settings.search_index)
    folder = settings.raw_root / day.isoformat()
    changed, deleted = sorted(folder.glob("00[12]_*.txt"))
    gone_title = deleted.read_text().splitlines()[0]
    changed.write_text(changed.read_text() + "\n\nThe Zorblax accord was signed.\n")
    deleted.unlink()
    (folder / "099_new.txt").write_text("Zorblax talks open\n\nDelegates met to discuss the Zorblax accord.\n")
    run_partition(settings, day)
    build_database(settings.lake, settings.db)

    # The index is stale now, and says so; the next question brings it up to date, this date only.
    plan = plan_update(read_state(settings.search_index), str(settings.lake), current_runs(settings.lake))
    assert plan.changed == [day.isoformat()] and plan.rebuild is None
    rows = {r["date"]: r for r in search.attention(settings, "zorblax")}
    assert rows[day]["matching"] == 2 and sum(r["matching"] for r in rows.values()) == 2
    after = read_state(settings.search_index)
    assert {d: e for d, e in after.dates.items() if d != day.isoformat()} == {
        d: e for d, e in before.dates.items() if d != day.isoformat()
    }
    docs = check_against_brute_force(settings)
    assert all(d["title"] != gone_title for d in docs.values())
    assert not any(r["title"] == gone_title for r in search.search(settings, f'"{gone_title}"', limit=100))


def test_a_run_that_never_commits_changes_nothing(own_lake):
    settings, day = own_lake, SAMPLE_DATES[2]
    search.update_index(settings)
    before = read_state(settings.search_index)
    counts = search.attention(settings, "zorblax OR quuxian")
    (settings.raw_root / day.isoformat() / "098_crash.txt").write_text("Quuxian story\n\nA Quuxian story.\n")
    plan = plan_run(settings, day)
    try:
        for shard in range(plan["n_fresh"]):
            process_shard(settings, plan["run_id"], shard)
        # The run's files are written, its commit never happens (the process died).
        assert search.update_index(settings).dates == []
        assert search.attention(settings, "zorblax OR quuxian") == counts
        assert read_state(settings.search_index) == before
    finally:
        abandon(settings.lake, day.isoformat(), plan["run_id"], run_tables())
        release(settings.lake, day.isoformat(), plan["run_id"])


def news_etl(*args):
    return subprocess.run([str(NEWS_ETL), *map(str, args)], capture_output=True, text=True)


def test_the_command_line(tmp_path):
    day = SAMPLE_DATES[0].isoformat()
    ran = news_etl("run", "--date", day, "--data-root", tmp_path, "--raw-root", SAMPLE_RAW)
    assert ran.returncode == 0, ran.stderr
    assert f"search index: {tmp_path / 'news.search'} (1 dates indexed)" in ran.stdout
    found = news_etl("search", "budget", "--data-root", tmp_path, "--format", "json", "--limit", "2")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert len(rows) == 2 and rows[0]["date"] == day and "**budget**" in rows[0]["snippet"].lower()
    counted = news_etl("attention", "budget", "--data-root", tmp_path, "--from", "2026-11-22", "--to", day)
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.splitlines()[:2] == ["date,documents,matching,share", "2026-11-22,0,0,0.0"]
    bad = news_etl("search", "budget AND (", "--data-root", tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "column 12" in bad.stderr
    assert "Traceback" not in bad.stderr
    rebuilt = news_etl("search", "--rebuild", "--data-root", tmp_path)
    assert rebuilt.returncode == 0 and "12 documents of 1 dates" in rebuilt.stdout, rebuilt.stderr
    elsewhere = news_etl("search", "budget", "--data-root", tmp_path, "--index", tmp_path / "other", "--format", "csv")
    assert elsewhere.returncode == 0 and (tmp_path / "other" / STATE_FILE).is_file()
    assert "--rebuild" in news_etl("search", "--help").stdout

"""The data checks (sql/checks/) for real: each shipped check is tripped by a landing folder built for it (or, for
the integrity checks, which no landing folder can trip, by a lake damaged after its commit) and left alone by a
normal night; the results land in the checks table and its view; `news-etl check` and `news-etl run` report them.

Every landing folder is built here from the sample articles (samples/raw), three committed dates of history first.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE_DATES, make_settings, sample_files
from pipeline.checks import Outcome, run_checks
from pipeline.config import CheckThresholds
from pipeline.errors import UserError
from pipeline.extract.quotes import CUE_WORDS
from pipeline.run import run_partition
from pipeline.views import build_database

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"
HISTORY = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 5)]
EARLY = date(2026, 11, 4)  # only two committed dates before it
NIGHT = date(2026, 11, 10)  # the night under test: three committed dates before it
PER_DATE = 5
# The sample's distinct articles (not its empty, blank or duplicate files), in a stable order.
ARTICLES = list({p.read_bytes(): p for d in SAMPLE_DATES for p in sample_files(d) if p.read_bytes().strip()}.values())
# Invented text in other languages (CLD2 finds de, es, fr, it): documents the English model does not analyse.
FOREIGN = [
    "Die Stadtverwaltung hat am Dienstag neue Pläne für den Ausbau der Straßenbahn vorgestellt. Nach Angaben der "
    "Verkehrsbetriebe sollen die ersten Abschnitte im kommenden Frühjahr fertig werden.",
    "El ayuntamiento presentó el martes un nuevo plan para ampliar la red de autobuses de la ciudad. Según la "
    "empresa municipal de transportes, las primeras líneas estarán listas la próxima primavera.",
    "La mairie a présenté mardi un nouveau projet pour agrandir le réseau de tramway de la ville. Selon la société "
    "des transports, les premiers tronçons seront prêts au printemps prochain.",
    "Il comune ha presentato martedì un nuovo progetto per ampliare la rete dei tram della città. Secondo "
    "l'azienda dei trasporti, i primi tratti saranno pronti la prossima primavera.",
]


def article(i: int) -> bytes:
    """A sample article, made distinct by a last line: no two items are exact duplicates."""
    return ARTICLES[i % len(ARTICLES)].read_bytes() + f"\n\nFiled as item {i}.\n".encode()


def nameless(i: int) -> bytes:
    """An article with its names, numbers, quote marks and reporting words taken out: almost no entities, no
    direct quotes, and of reported speech only what the learned scorer still finds in a few complements."""
    text = article(i).decode("utf-8", "replace")
    text = re.sub(r'["“”]', "", re.sub(r"\b([A-Z]\S*|\S*[0-9]\S*)\s*", "", text))
    return re.sub(r"\w+", lambda m: "" if m.group().lower() in CUE_WORDS else m.group(), text).encode()


def land(raw: Path, day: date, files: list[bytes], names: list[str] | None = None) -> None:
    folder = raw / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(files):
        (folder / (names[i] if names else f"{i:03d}.txt")).write_bytes(data)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three committed dates of five articles each (one empty file too on the first): what a night is compared with."""
    root = tmp_path_factory.mktemp("history")
    settings = make_settings(root)
    for k, day in enumerate(HISTORY):
        land(settings.raw_root, day, [article(10 * k + i) for i in range(PER_DATE)] + ([b""] if k == 0 else []))
        run_partition(settings, day)
    return root


@pytest.fixture
def settings(history: Path, tmp_path: Path):
    shutil.copytree(history, tmp_path, dirs_exist_ok=True)
    return make_settings(tmp_path)


def night(settings, files: list[bytes], day: date = NIGHT, expect_empty: bool = False, **run) -> Outcome:
    land(settings.raw_root, day, files)
    run_partition(settings, day, **run)
    return run_checks(settings, day, expect_empty=expect_empty)


def statuses(outcome: Outcome) -> dict[str, str]:
    return {r.check: r.status for r in outcome.results}


def not_passed(outcome: Outcome) -> dict[str, str]:
    return {r.check: r.status for r in outcome.results if r.status != "pass"}


def result(outcome: Outcome, check: str):
    return next(r for r in outcome.results if r.check == check)


def normal_night() -> list[bytes]:
    return [article(40 + i) for i in range(PER_DATE)]


def test_a_normal_night_passes_every_check_and_is_recorded(settings):
    outcome = night(settings, normal_night())
    assert len(outcome.results) == 14
    assert not_passed(outcome) == {}
    assert outcome.produced == {"files": PER_DATE, "documents": PER_DATE, "rejects": 0}
    assert outcome.line().endswith("14 pass, 0 warn, 0 fail")
    again = run_checks(settings, NIGHT)  # a second check run of the same run: the view shows the newest
    build_database(settings.lake, settings.db)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        shown = con.execute(
            "select distinct run_id, checked_at, is_current from checks where date = ?", [NIGHT]
        ).fetchall()
        assert shown == [(outcome.run_id, again.checked_at, True)]
        assert con.execute("select count(*) from lake.checks where date = ?", [NIGHT]).fetchone() == (28,)
        assert con.execute("select count(*) from checks where status = 'pass' and date = ?", [NIGHT]).fetchone() == (
            14,
        )


@pytest.mark.parametrize(("n_files", "status"), [(1, "fail"), (16, "fail"), (2, "pass"), (15, "pass")])
def test_volume_far_from_the_trailing_median_fails(settings, n_files, status):
    outcome = night(settings, [article(40 + i) for i in range(n_files)])
    assert statuses(outcome)["volume"] == status  # median 5: 1.5 to 15 files
    if status == "fail":
        assert "the median of the 3 committed dates before (5 files)" in result(outcome, "volume").message


def test_volume_with_little_history_only_warns(settings):
    outcome = night(settings, [article(40)], day=EARLY)  # two committed dates before it
    volume = result(outcome, "volume")
    assert (volume.status, volume.severity) == ("warn", "error")
    assert "only a warning: fewer than 3 earlier dates" in volume.message
    assert not outcome.failed


@pytest.mark.parametrize("landing", ["missing", "empty", "partial uploads only"])
def test_a_night_without_files_fails_unless_expected(settings, landing):
    folder = settings.raw_root / NIGHT.isoformat()
    if landing != "missing":
        folder.mkdir(parents=True)
    if landing == "partial uploads only":
        (folder / "001.txt.part").write_bytes(article(40))
    run_partition(settings, NIGHT, allow_missing=True)
    outcome = run_checks(settings, NIGHT)
    assert not_passed(outcome) == {"landing_folder": "fail", "volume": "fail"}
    landing_result = result(outcome, "landing_folder")
    assert "missing or empty" in landing_result.message
    assert landing_result.observed == f"0 files ({int(landing == 'partial uploads only')} ignored)"
    assert not_passed(run_checks(settings, NIGHT, expect_empty=True)) == {}  # a day known to be empty


def test_a_night_of_binary_junk_fails_and_names_its_new_reason(settings):
    junk = [b"\x00\x01binary" + article(50 + i) for i in range(2)]
    outcome = night(settings, normal_night() + junk)
    assert not_passed(outcome) == {"rejects_rate": "fail", "rejects_new_reason": "warn"}
    assert "2 of 7 files rejected (28.6%, above 10.0%)" in result(outcome, "rejects_rate").message
    assert 'new reject reason "binary content: NUL bytes in the text"' in result(outcome, "rejects_new_reason").message


def test_a_reject_rate_at_the_threshold_and_a_known_reason_pass(settings):
    outcome = night(settings, [article(40 + i) for i in range(9)] + [b""])  # 10 %, "empty file" as on Nov 2
    assert statuses(outcome)["rejects_rate"] == statuses(outcome)["rejects_new_reason"] == "pass"
    stricter = replace(settings, checks=CheckThresholds(reject_rate=0.05))
    assert statuses(run_checks(stricter, NIGHT))["rejects_rate"] == "fail"


def test_spacy_failing_on_a_document_fails_the_night(settings):
    # A piece longer than spaCy's max_length (1,000,000 characters) is refused by spaCy itself: a real
    # analysis error (the pieces are 100,000 characters unless the setting says otherwise).
    huge = article(60) * (1_100_000 // len(article(60).decode()) + 1)  # over a million characters
    outcome = night(replace(settings, chunk_chars=2_000_000), [*normal_night()[:4], huge])
    # (its document counts as analysed, without quotes: drift_quotes may warn as well)
    assert [r.check for r in outcome.failed] == ["analysis_errors"]
    assert "spaCy failed on 1 documents" in result(outcome, "analysis_errors").message
    assert "E088" in result(outcome, "analysis_errors").message


@pytest.mark.parametrize(("n_foreign", "status"), [(4, "warn"), (1, "pass")])
def test_a_jump_in_documents_not_in_english_warns(settings, n_foreign, status):
    foreign = [f"{text}\n\nItem {i}.\n".encode() for i, text in enumerate(FOREIGN[:n_foreign])]
    outcome = night(settings, [article(40 + i) for i in range(9 - n_foreign)] + foreign)
    assert not_passed(outcome) == ({"language_mix": "warn"} if status == "warn" else {})
    if status == "warn":
        assert "4 of 9 documents (44.4%) are not in the model's language (1 de, 1 es, 1 fr)" in (
            result(outcome, "language_mix").message
        )


def test_a_feed_resending_yesterday_warns(settings):
    yesterday = sorted((settings.raw_root / HISTORY[-1].isoformat()).iterdir())
    outcome = night(settings, [p.read_bytes() for p in yesterday])
    assert not_passed(outcome) == {"duplicates": "warn"}
    assert "5 of 5 documents (100.0%) are exact copies" in result(outcome, "duplicates").message


def test_copies_within_the_night_count_too(settings):
    outcome = night(settings, normal_night()[:3] * 2)
    assert not_passed(outcome) == {"duplicates": "warn"}  # 3 of 6 documents are duplicate_of another


def test_extraction_drift_warns(settings):
    outcome = night(settings, [nameless(40 + i) for i in range(PER_DATE)])
    assert not_passed(outcome) == {"drift_entities": "warn", "drift_quotes": "warn"}
    message = result(outcome, "drift_quotes").message  # "0.80 quotes per analysed document, against a median of 13.00"
    observed, median = (float(n) for n in re.findall(r"\d+\.\d+", message)[:2])
    assert "quotes per analysed document, against a median of" in message and observed < median / 5


def rewrite(settings, table: str, change) -> None:
    """Damage the night's file of a table after its commit, as a bug in the pipeline would."""
    (path,) = (settings.lake / table / f"date={NIGHT}").glob("*.parquet")
    rows = pq.read_table(path)
    pq.write_table(change(rows), path)


def shift_first_offset(rows):
    starts = rows["start_char"].to_pylist()
    starts[0] += 1
    return rows.set_column(rows.schema.get_field_index("start_char"), "start_char", pa.array(starts, pa.int64()))


def orphan_first_row(rows):
    doc_ids = rows["doc_id"].to_pylist()
    doc_ids[0] = "no-such-document"
    return rows.set_column(rows.schema.get_field_index("doc_id"), "doc_id", pa.array(doc_ids, pa.string()))


@pytest.mark.parametrize(
    ("table", "change", "check"),
    [
        ("entities", shift_first_offset, "integrity_offsets"),
        ("quotes", shift_first_offset, "integrity_offsets"),
        ("entities", orphan_first_row, "integrity_orphans"),  # and rollups: its (document, key) pairs differ
        ("sentences", lambda rows: rows.take([0, *range(len(rows))]), "integrity_ids"),
        ("rejects", lambda rows: rows.slice(0, 0), "integrity_files"),
    ],
)
def test_integrity_checks_find_a_damaged_lake(settings, table, change, check):
    files = [article(40 + i) for i in range(9)] + [b""]  # a reject, at the reject threshold
    assert not_passed(night(settings, files)) == {}
    rewrite(settings, table, change)
    outcome = run_checks(settings, NIGHT)
    also = {"rollups": "fail"} if change is orphan_first_row else {}  # the rollups no longer sum the entities
    assert not_passed(outcome) == {check: "fail"} | also
    assert result(outcome, check).message.startswith(f"{table}" if check != "integrity_files" else "files seen 10")


def news_etl(*args):
    return subprocess.run([str(NEWS_ETL), *map(str, args)], capture_output=True, text=True)


def test_the_commands_report_and_exit_1_on_a_failed_check(settings):
    (settings.raw_root / NIGHT.isoformat()).mkdir(parents=True)  # an empty landing folder
    ran = news_etl("run", "--date", NIGHT, "--data-root", settings.lake.parent)
    assert ran.returncode == 1, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith(f"{NIGHT}: 0 files -> 0 documents")
    assert lines[-2].startswith("fail  volume [error]: 0 files, far below the median")
    assert lines[-1].endswith("12 pass, 0 warn, 2 fail (landing_folder, volume)")

    checked = news_etl("check", "--date", NIGHT, "--expect-empty", "--data-root", settings.lake.parent)
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert len(lines) == 15 and all(line.startswith("pass  ") for line in lines[:14])
    with duckdb.connect(str(settings.db), read_only=True) as con:  # check rebuilt the views: they show it
        assert con.execute("select count(*) from checks where date = ? and status != 'pass'", [NIGHT]).fetchone() == (
            0,
        )

    nothing = news_etl("check", "--date", "2026-12-31", "--data-root", settings.lake.parent)
    assert nothing.returncode == 2
    assert "no committed run for 2026-12-31" in nothing.stderr


def test_checking_a_date_never_committed_is_a_clear_error(settings):
    with pytest.raises(UserError, match="no committed run for 2026-11-10"):
        run_checks(settings, NIGHT)

"""The check files and their settings: every shipped check declares a severity and a description and is
documented; thresholds come from NEWS_CHECK_* and are validated; the registry-derived selects cover every span."""

import re
from datetime import date

import pytest

from conftest import REPO
from pipeline.checks import load_checks, offset_spans, parse_check, row_keys, sql_dates
from pipeline.config import CheckThresholds, Settings
from pipeline.errors import UserError
from pipeline.registry import run_tables

pytestmark = pytest.mark.unit

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_shipped_check_has_a_header_and_is_documented():
    checks = load_checks()
    assert len(checks) == 14
    for check in checks:
        assert check.severity in ("warn", "error") and check.description
        assert f"`{check.name}`" in README, f"README's 'Operating the nightly job' does not describe {check.name}"
    integrity = [c for c in checks if c.name.startswith("integrity_")]
    assert len(integrity) == 4 and all(c.severity == "error" for c in integrity)  # integrity is always an error


def test_every_threshold_is_a_documented_setting():
    names = {f"NEWS_CHECK_{name.upper()}" for name in CheckThresholds.__dataclass_fields__}
    assert names == set(re.findall(r"NEWS_CHECK_[A-Z_]+[A-Z]", README)) & names
    for name in names:
        assert f"`{name}`" in README


def test_thresholds_come_from_the_environment_validated():
    assert Settings.from_env(env={}).checks == CheckThresholds()
    env = {"NEWS_CHECK_VOLUME_LOW": "0.5", "NEWS_CHECK_HISTORY_DATES": "14", "NEWS_CHECK_DRIFT": "1.5"}
    assert Settings.from_env(env=env).checks == CheckThresholds(volume_low=0.5, history_dates=14, drift=1.5)
    for name, value, message in [
        ("NEWS_CHECK_VOLUME_LOW", "2", "expected a number from 0 to 1"),
        ("NEWS_CHECK_REJECT_RATE", "ten", "expected a number from 0 to 1"),
        ("NEWS_CHECK_HISTORY_DATES", "3.5", "expected a whole number from 1 to 366"),
        ("NEWS_CHECK_DRIFT", "-1", "expected a number of at least 0"),
        ("NEWS_CHECK_MIN_HISTORY", "9", "more than NEWS_CHECK_HISTORY_DATES=7"),
    ]:
        with pytest.raises(UserError, match=re.escape(message)):
            Settings.from_env(env={name: value})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("select 1 as observed\n", "needs `-- severity: warn` or `-- severity: error`"),
        ("-- severity: fatal\n-- description: x\nselect 1\n", "needs `-- severity: warn`"),
        ("-- severity: warn\nselect 1\n", "needs `-- description:"),
    ],
)
def test_a_check_without_its_header_is_refused(tmp_path, text, message):
    path = tmp_path / "my_check.sql"
    path.write_text(text)
    with pytest.raises(UserError, match=re.escape(message)):
        parse_check(path)


def test_registry_derived_selects_cover_every_table_and_span():
    keys = row_keys()
    assert all(f"from lake.{t.name}" in keys for t in run_tables())
    assert "cast(entity_idx as bigint) as idx from lake.entities" in keys
    assert "source_path as key" in keys  # rejects are keyed by path
    spans = offset_spans()
    assert "text as span_text from lake.entities" in spans
    assert "text as span_text from lake.quotes" in spans
    assert "speaker as span_text from lake.quotes" in spans
    assert "lake.sentences" not in spans  # sentence offsets have no text of their own to compare
    assert sql_dates([]) == "(null)"
    assert sql_dates([date(2026, 11, 24)]) == "(date '2026-11-24')"

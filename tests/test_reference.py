"""The README's table overview and docs/tables.md are what the registry says (python -m pipeline.reference)."""

import pytest

from conftest import REPO
from pipeline.reference import BEGIN, full, with_summary

pytestmark = pytest.mark.unit


def test_readme_lists_the_registry_tables():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme
    assert with_summary(readme) == readme, "README is stale: run .venv/bin/python -m pipeline.reference"


def test_docs_tables_describe_every_column():
    assert (REPO / "docs" / "tables.md").read_text(encoding="utf-8") == full(), "run python -m pipeline.reference"

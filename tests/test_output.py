"""Result formatting, pure: widths that fit, whole cells outside the table, NULLs and dates."""

import csv
import io
import json
from datetime import date

import pytest

from pipeline.output import MAX_CELL_CHARS, MIN_SQUEEZED_CHARS, fit, render

pytestmark = pytest.mark.unit

COLUMNS = ["n", "text", "day", "none"]
ROWS = [(1, "word " * 100, date(2026, 11, 24), None), (2, "short", date(2026, 11, 25), None)]


@pytest.mark.parametrize("width", [40, 80, 120, 300])
def test_a_table_is_never_wider_than_the_terminal_when_it_can_fit(width):
    lines = render(COLUMNS, ROWS, "table", width=width).splitlines()
    assert max(map(len, lines)) <= max(width, 4 * MIN_SQUEEZED_CHARS + 13)
    assert "NULL" in lines[3] and "2026-11-24" in lines[3]


def test_long_cells_are_cut_in_the_table_only():
    table = render(COLUMNS, ROWS, "table", width=300)
    assert "…" in table and max(map(len, table.splitlines())) < MAX_CELL_CHARS + 40
    rows = list(csv.reader(io.StringIO(render(COLUMNS, ROWS, "csv"))))
    assert rows[1] == ["1", "word " * 100, "2026-11-24", ""]
    assert json.loads(render(COLUMNS, ROWS, "json"))[0]["text"] == "word " * 100
    assert [json.loads(line)["n"] for line in render(COLUMNS, ROWS, "jsonl").splitlines()] == [1, 2]
    assert render(COLUMNS, [("a|b", "x", None, None)], "markdown").splitlines()[2].startswith("| a\\|b |")


def test_fit_narrows_the_widest_column_first_and_never_below_the_minimum():
    assert fit([5, 50, 10], 40) == [5, 25, 10]
    assert fit([30, 30], 100) == [30, 30]
    assert fit([50, 50, 50], 10) == [MIN_SQUEEZED_CHARS] * 3

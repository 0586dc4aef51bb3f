"""Result sets printed by the command line (`sql`, `status`, ...): a table for people, CSV or JSON for programs.

As the duckdb shell does on a terminal, the default is a table as wide as the terminal, long cells cut with an
ellipsis; unlike it, output that goes to a pipe or a file is CSV by default (what `| head`, `> file.csv` and
spreadsheet imports expect). The other formats always carry every cell whole.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

FORMATS = ("table", "csv", "json", "jsonl", "markdown")
MAX_CELL_CHARS = 60  # table mode: a cell longer than this is cut (a whole article would fill the screen)
MIN_SQUEEZED_CHARS = 10  # table mode: no column is narrowed below this to fit the terminal


def default_format(stream: IO[str]) -> str:
    return "table" if stream.isatty() else "csv"


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, width: int | None = None) -> str:
    """The rows in one of FORMATS; width (table only): the terminal's when not given."""
    if fmt == "table":
        return table(columns, rows, width or shutil.get_terminal_size((120, 24)).columns)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[plain(v) for v in row] for row in rows])
        return out.getvalue()
    records = [dict(zip(columns, [jsonable(v) for v in row], strict=True)) for row in rows]
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == "markdown":
        lines = [cells(columns), cells(["---"] * len(columns))]
        lines += [cells([plain(v) for v in row]) for row in rows]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int) -> str:
    """A box-drawn table that fits width: cells cut to MAX_CELL_CHARS, then the widest columns narrowed."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    texts = [[cut(plain(v)) if v is not None else "NULL" for v in row] for row in rows]
    natural = [max([len(name), *(len(row[i]) for row in texts)]) for i, name in enumerate(columns)]
    widths = fit(natural, width - 3 * len(columns) - 1)  # each column costs 3 more: borders and padding
    shown = Table(box=box.SQUARE, header_style="bold", show_lines=False)
    for name, column_width in zip(columns, widths, strict=True):
        shown.add_column(name, overflow="ellipsis", no_wrap=True, width=column_width)
    for row in texts:
        shown.add_row(*row)
    out = io.StringIO()
    Console(file=out, width=max(width, sum(widths) + 3 * len(widths) + 1), color_system=None).print(shown)
    return out.getvalue()


def fit(natural: list[int], room: int) -> list[int]:
    """Column widths within room: the widest column gives way first, none below MIN_SQUEEZED_CHARS (or its
    natural width); too many columns for the room, and the table stays wider than it."""
    widths = list(natural)
    while sum(widths) > room:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_SQUEEZED_CHARS:
            break
        widths[widest] -= 1
    return widths


def cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def cells(values: Sequence[str]) -> str:
    return "| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in values) + " |"


def plain(value: Any) -> str:
    """A cell as text: NULL as an empty cell, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value

"""Every lake table, in the order they are made. Each is declared (name, columns, descriptions, who writes it)
next to the code that makes its rows; everything else is derived from this list: the shard writer's files, the
incremental carry-over, the commit's row counts, the Airflow assets, the staging views and the README's table
reference. Tables with an `extract` function are made from each document's spaCy Doc, in this order (a later
one may read an earlier one's rows, as quotes read entities).

The checks table comes last: the data checks (checks.py) write it after a commit, not the runs.

Adding a table: declare it in a module of pipeline/extract/ (see sentences.py), add it here, add tests.
"""

from __future__ import annotations

from pipeline.checks import CHECKS
from pipeline.documents import REJECTS
from pipeline.extract.document import DOCUMENTS
from pipeline.extract.entities import ENTITIES
from pipeline.extract.near_duplicates import NEAR_DUPLICATES, SIGNATURES
from pipeline.extract.quotes import QUOTES
from pipeline.extract.sentences import SENTENCES
from pipeline.lake import RUNS
from pipeline.rollups import ENTITY_MENTIONS, ENTITY_PAIRS
from pipeline.tables import Table

TABLES: list[Table] = [
    DOCUMENTS,
    SENTENCES,
    ENTITIES,
    QUOTES,
    SIGNATURES,
    REJECTS,
    NEAR_DUPLICATES,
    ENTITY_MENTIONS,
    ENTITY_PAIRS,
    RUNS,
    CHECKS,
]


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def shard_tables() -> tuple[Table, ...]:
    """Written by each shard, one file each, and carried over by incremental reruns."""
    return tuple(t for t in TABLES if t.written_by == "shard")


def extracted_tables() -> tuple[Table, ...]:
    """Made from each document's spaCy Doc, in order."""
    return tuple(t for t in TABLES if t.extract is not None)


def commit_tables() -> tuple[Table, ...]:
    """Computed by the commit from the whole date (near-duplicates, rollups); carried over by a rerun that
    changes nothing."""
    return tuple(t for t in TABLES if t.written_by == "commit")


def run_tables() -> tuple[Table, ...]:
    """Every table whose files are named by run and shard, which every run writes (all but runs and checks)."""
    return tuple(t for t in TABLES if t.per_run)


def committed_tables() -> tuple[Table, ...]:
    """Every table a commit publishes: the run's tables and its runs row (the checks come after it)."""
    return tuple(t for t in TABLES if t.written_by != "check")

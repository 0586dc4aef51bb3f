"""`news-etl shell`: DuckDB's own shell on the database, with what the lake needs already loaded.

The shell is the `duckdb-cli` package's binary, pinned to the Python package's DuckDB release (pyproject.toml),
so it reads the database file and loads the PyPI extension packages. For an `s3://` lake it starts with httpfs
loaded and a session secret made (`storage.backend(lake).duckdb_setup`, as `news-etl sql` does); the
credentials stay in the environment, which the shell reads itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
import duckdb_cli

from pipeline.errors import UserError
from pipeline.storage import Location, backend
from pipeline.views import CATALOG, first_line, lake_of, sql_string

# The binary itself, not the package's `duckdb` script: that Python wrapper kills the shell on Ctrl-C, which
# in the shell only cancels the running query.
DUCKDB_SHELL = Path(duckdb_cli.__file__).parent / "duckdb"


def shell_command(db: Path, lake: Location, env: Mapping[str, str] | None = None) -> list[str]:
    """The `duckdb` shell's argv: db opened read-only, able to read the lake its views read.

    The lake recorded in db by the build wins over `lake` (which is for databases built before that), as in
    `news-etl sql`. env (os.environ by default) decides which credentials the S3 secret names; run the command
    with that environment. Append the shell's own arguments (`-c SQL`, `-csv`, ...) as you like.
    """
    if not db.is_file():
        raise UserError(f"no database at {db}: run `news-etl views` first")
    setup = backend(recorded_lake(db) or lake).duckdb_setup(os.environ if env is None else env, in_shell=True)
    command = [str(DUCKDB_SHELL), "-readonly"]
    if setup:
        # -cmd, not -init: the user's ~/.duckdbrc still runs. Quiet, or CREATE SECRET prints "Success".
        command += ["-cmd", f".output {os.devnull}", "-cmd", ";\n".join(setup), "-cmd", ".output"]
    return [*command, str(db)]


def recorded_lake(db: Path) -> Location | None:
    try:
        with duckdb.connect() as con:
            con.execute(f"attach {sql_string(db)} as {CATALOG} (read_only)")
            return lake_of(con)
    except duckdb.Error as error:
        raise UserError(f"cannot open {db}: {first_line(error)}") from None

"""The `duckdb` shell: the same DuckDB release as the Python package, so the PyPI extensions load in both, and
`news-etl shell`'s command (pipeline/shell.py) run for real on a local lake and on an S3 server."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import duckdb
import pytest
from test_storage import s3_endpoint, s3_env  # noqa: F401  (fixtures: rclone serve s3 and the AWS_* variables)

from conftest import REPO
from pipeline.errors import UserError
from pipeline.shell import DUCKDB_SHELL, shell_command
from pipeline.storage import location
from pipeline.views import build_database

pytestmark = pytest.mark.integration


def duckdb_packages() -> dict[str, str]:
    """Every duckdb* requirement of pyproject.toml (dependencies and groups), by name, with its specifier."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = project["project"]["dependencies"] + sum(project["dependency-groups"].values(), [])
    found = (re.fullmatch(r"(duckdb[\w-]*)\s*(\S*)", r) for r in requirements)
    return {m[1]: m[2] for m in found if m}


def extension_file(package: str) -> Path:
    """The extension binary a duckdb-extension-* package ships, for its own DuckDB release."""
    name = package.removeprefix("duckdb-extension-")
    (file,) = [f for f in importlib.metadata.files(package) if f.name == f"{name}.duckdb_extension"]
    return Path(file.locate())


def test_duckdb_the_shell_and_the_extensions_are_pinned_to_one_release():
    pins = duckdb_packages()
    assert {"duckdb", "duckdb-cli", "duckdb-extension-httpfs"} <= pins.keys()
    assert len(set(pins.values())) == 1 and next(iter(pins.values())).startswith("=="), pins
    release = pins["duckdb"].removeprefix("==")
    assert {name: importlib.metadata.version(name) for name in pins} == dict.fromkeys(pins, release)
    shell = subprocess.run([str(DUCKDB_SHELL), "--version"], capture_output=True, text=True, check=True)
    assert shell.stdout.startswith(f"v{release} ")
    assert duckdb.__version__ == release


@pytest.mark.parametrize("package", [p for p in duckdb_packages() if p.startswith("duckdb-extension-")])
def test_every_pypi_extension_loads_in_the_shell_and_in_python(package, tmp_path):
    extension = extension_file(package)
    name = package.removeprefix("duckdb-extension-")
    check = f"load '{extension}'; select loaded from duckdb_extensions() where extension_name = '{name}'"
    shell = subprocess.run(
        [str(DUCKDB_SHELL), "-csv", "-noheader", "-c", check], capture_output=True, text=True, cwd=tmp_path
    )
    assert (shell.returncode, shell.stdout.strip(), shell.stderr) == (0, "true", "")
    with duckdb.connect() as con:
        assert con.execute(check).fetchall() == [(True,)]


def run_shell(command: list[str], stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    """The shell fed its queries on stdin, as from a pipe or a script."""
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def test_the_shell_opens_the_database_read_only_on_a_local_lake(sample_lake, tmp_path):
    command = shell_command(sample_lake.db, sample_lake.lake)
    assert "-readonly" in command and not [arg for arg in command if "secret" in arg]  # nothing to load
    result = run_shell([*command, "-csv"], "select count(*) as n from documents;\n", tmp_path)
    assert (result.returncode, result.stdout.split(), result.stderr) == (0, ["n", "38"], "")
    refused = run_shell(command, "create table scratch (a int);\n", tmp_path)
    assert refused.returncode != 0 and "read-only" in refused.stderr


def test_the_shell_reads_an_s3_lake_with_httpfs_and_the_secret(s3_env, sample_lake, tmp_path):  # noqa: F811
    # rclone serves a folder: the sample lake copied there is a lake on S3, s3://news/shell/lake.
    shutil.copytree(sample_lake.lake, s3_env["folder"] / "news" / "shell" / "lake")
    db = tmp_path / "news.duckdb"
    build_database(location("s3://news/shell/lake"), db)
    command = shell_command(db, sample_lake.lake)  # the lake recorded in db wins over the one given
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in " ".join(command)  # the shell reads it with getenv()

    query = "select count(*) as n from documents;\nselect count(*) from duckdb_secrets() where name = 'news_lake';\n"
    result = run_shell([*command, "-csv", "-noheader"], query, tmp_path)
    assert (result.returncode, result.stdout.split(), result.stderr) == (0, ["38", "1"], "")
    # Without the setup the same views cannot be read: it is what makes the lake reachable.
    plain = run_shell([str(DUCKDB_SHELL), "-readonly", str(db), "-csv"], query, tmp_path)
    assert plain.returncode != 0 and "httpfs" in plain.stderr, plain.stderr


def test_no_shell_on_a_missing_database(tmp_path):
    with pytest.raises(UserError, match="no database at .*: run `news-etl views` first"):
        shell_command(tmp_path / "news.duckdb", tmp_path / "lake")

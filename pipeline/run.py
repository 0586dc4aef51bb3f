"""The only place the stages are chained: plan a partition, process its shards, commit it.

Airflow calls the three steps as separate tasks (one mapped task per shard); `run_partition` chains them
in one process pool for the command line. Both write the same files.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
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
from pipeline.extract import Row, extract_document, title_of
from pipeline.extract.datelines import dateline_of
from pipeline.extract.language import detect_language, model_reads
from pipeline.extract.near_duplicates import cluster_rows, signature
from pipeline.incremental import carry_over, previous_run, split_reusable
from pipeline.lake import (
    check_writable,
    commit,
    new_run_id,
    read_plan,
    read_receipts,
    write_plan,
    write_receipt,
)
from pipeline.nlp import chunks, load_model, model_id
from pipeline.tables import SCHEMAS, ShardWriter, data_file, read_run_table, write_atomic

log = logging.getLogger(__name__)
MAX_SHARDS = 1024  # Airflow's max_map_length
PROGRESS_SECONDS = 10.0


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
    files, ignored = list_partition(settings.raw_root, day) if folder.is_dir() else ([], [])
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
    plan, shards = read_plan(settings.lake, run_id)
    sources = shards[shard_idx]
    nlp = load_model(settings.model, settings.exclude)
    if model_id(nlp) != plan["model"]:
        raise UserError(f"run {run_id} was planned with {plan['model']} but this worker has {model_id(nlp)}")
    writer = ShardWriter(settings.lake, plan["date"], run_id, shard_idx)
    receipt = {"documents": 0, "duplicates": 0, "rejects": 0}
    progress = Progress(f"shard {shard_idx}", len(sources))
    try:
        for item, pieces in analyse(nlp, settings, read_all(settings, sources)):
            if isinstance(item, Reject) or (error := nlp_error(pieces)):
                reason = item.reason if isinstance(item, Reject) else f"spaCy failed on this text: {error}"
                writer.add("rejects", [reject_row(item, reason)])
                receipt["rejects"] += 1
            else:
                writer.add("documents", [document_row(item, pieces, plan)])
                writer.add("signatures", [{"doc_id": item.doc_id, "minhash": signature(item.text)}])
                receipt["documents"] += 1
                receipt["duplicates"] += item.duplicate_of is not None
                for table, rows in extract_document(item.doc_id, item.text, pieces).items():
                    writer.add(table, rows)
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
    for source in sources:
        item = read_document(settings.raw_root, source, settings.max_file_bytes)
        yield replace(item, language=detect_language(item.text)) if isinstance(item, Document) else item


def analyse(
    nlp: Language, settings: Settings, items: Iterable[Document | Reject]
) -> Iterator[tuple[Document | Reject, list[tuple[int, Doc]]]]:
    """Stream items through spaCy in batches; long texts go in pieces and come back together.

    Rejects and exact duplicates pass through as empty texts, so the stream keeps its order.
    """

    def pieces() -> Iterator[tuple[str, tuple[Document | Reject, int, bool]]]:
        for item in items:
            parts = chunks(item.text, settings.chunk_chars) if needs_nlp(item, nlp.lang) else [(0, "")]
            for k, (offset, text) in enumerate(parts):
                yield text, (item, offset, k == len(parts) - 1)

    done: list[tuple[int, Doc]] = []
    for batch in batches(pieces(), settings.batch_size, settings.chunk_chars * 2):
        for doc, (item, offset, last) in zip(
            parse_batch(nlp, [text for text, _ in batch]), [c for _, c in batch], strict=True
        ):
            done.append((offset, doc))
            if last:
                yield item, done if needs_nlp(item, nlp.lang) else []
                done = []


def batches(items: Iterable[tuple[str, Any]], max_items: int, max_chars: int) -> Iterator[list[tuple[str, Any]]]:
    """Batches of (text, context) by count and by characters: the parser's memory grows with the batch's text."""
    batch: list[tuple[str, Any]] = []
    chars = 0
    for item in items:
        if batch and (len(batch) >= max_items or chars + len(item[0]) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += len(item[0])
    if batch:
        yield batch


def parse_batch(nlp: Language, texts: list[str]) -> list[Doc]:
    """The whole batch at once; if spaCy fails on it, each text alone, so one bad text fails alone."""
    try:
        return list(nlp.pipe(texts, batch_size=len(texts)))
    except Exception:
        return [parse_one(nlp, text) for text in texts]


def parse_one(nlp: Language, text: str) -> Doc:
    try:
        return nlp(text)
    except Exception as error:
        doc = nlp.make_doc("")
        doc.user_data["nlp_error"] = f"{type(error).__name__}: {error}"[:300]
        return doc


def extract_texts(settings: Settings, texts: Iterable[tuple[str, str]]) -> Iterator[tuple[str, dict[str, list[Row]]]]:
    """(doc_id, text) -> (doc_id, rows per table) through exactly the path files take: what evaluations use."""
    nlp = load_model(settings.model, settings.exclude)
    documents = (Document(doc_id, doc_id, text, "utf-8", 0, "", None, detect_language(text)) for doc_id, text in texts)
    for item, pieces in analyse(nlp, settings, documents):
        yield item.doc_id, extract_document(item.doc_id, item.text, pieces)


def needs_nlp(item: Document | Reject, model_language: str) -> bool:
    """Exact duplicates reuse their first copy's analysis; text in another language is not misread."""
    return (
        isinstance(item, Document)
        and item.duplicate_of is None
        and (item.language is None or model_reads(item.language, model_language))
    )


def nlp_error(pieces: list[tuple[int, Doc]]) -> str | None:
    return next((doc.user_data["nlp_error"] for _, doc in pieces if "nlp_error" in doc.user_data), None)


def document_row(document: Document, pieces: list[tuple[int, Doc]], plan: dict[str, Any]) -> dict[str, Any]:
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
        "is_analysed": bool(pieces),
        "text": document.text,
        "n_tokens": sum(len(doc) for _, doc in pieces) if pieces else None,
        "n_chars": len(document.text),
        "n_bytes": document.n_bytes,
        "content_sha256": document.sha256,
        "encoding": document.encoding,
        "duplicate_of": document.duplicate_of,
        "model": plan["model"],
        "pipeline_version": plan["pipeline_version"],
    }


def reject_row(item: Document | Reject, reason: str) -> dict[str, Any]:
    return {
        "source_path": item.source_path,
        "reason": reason,
        "n_bytes": item.n_bytes,
        "content_sha256": item.sha256,
    }


def commit_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """Group near-duplicates across the run's shards, then publish the run."""
    plan, _ = read_plan(settings.lake, run_id)
    receipts = read_receipts(settings.lake, run_id, plan["n_shards"])
    signatures = read_run_table(settings.lake, "signatures", plan["date"], run_id)
    clusters = cluster_rows(dict(zip(signatures["doc_id"].to_pylist(), signatures["minhash"].to_pylist(), strict=True)))
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

"""The input edge: list a date's landing folder, hash and shard it, read and decode each file."""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date

import pyarrow as pa

from pipeline.decode import NotText, decode
from pipeline.storage import IO_THREADS, Location, backend
from pipeline.tables import Table

# Uploads in progress and hidden files are not articles yet: they are skipped, and counted as ignored.
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
READ_BLOCK = 1 << 20
TASKS_PER_THREAD = 4
ESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")  # what display_path writes: \\ or \xHH


@dataclass(frozen=True)
class SourceFile:
    """One file of the partition as the plan saw it. source_path is relative to the raw root, as display_path
    writes it (open it with os_path)."""

    source_path: str
    doc_id: str
    n_bytes: int
    sha256: str | None
    duplicate_of: str | None = None
    reject_reason: str | None = None  # known at listing time (symlink out of the folder, FIFO, not .txt...)
    duplicate_of_path: str | None = None  # the first copy's source_path: the shard checks it still matches


@dataclass(frozen=True)
class Document:
    doc_id: str
    source_path: str
    text: str
    encoding: str
    n_bytes: int
    sha256: str
    duplicate_of: str | None


@dataclass(frozen=True)
class Reject:
    source_path: str
    reason: str
    n_bytes: int | None
    sha256: str | None  # None when the bytes could not be read: the next run tries the file again

    def row(self) -> dict[str, object]:
        return {
            "source_path": self.source_path,
            "reason": self.reason,
            "n_bytes": self.n_bytes,
            "content_sha256": self.sha256,
        }


REJECTS = Table(
    "rejects",
    "Input files that did not become documents, each with the reason.",
    (
        (
            "source_path",
            pa.string(),
            "the file (or a folder that could not be listed), relative to RAW; bytes that are not UTF-8 as \\xHH",
        ),
        ("reason", pa.string(), 'why, in words a person can act on ("not a .txt file", "binary data")'),
        ("n_bytes", pa.int64(), "its size"),
        ("content_sha256", pa.string(), "sha256 of its bytes, when they could be read"),
    ),
    key="source_path",
)


def doc_id_for(source_path: str) -> str:
    """Stable across reruns (and locales): a hash of the bytes of the file's name, relative to RAW."""
    return hashlib.blake2b(raw_path(source_path), digest_size=8).hexdigest()


def display_path(raw: bytes) -> str:
    """A file name's bytes as text for tables and plans: valid UTF-8 (Parquet strings must be) and one to one
    with the bytes (raw_path reverses it). A byte that is not part of valid UTF-8 is written \\xHH and a
    backslash is doubled: the Latin-1 name b"caf\\xe9.txt" reads `caf\\xe9.txt`, while a name that really holds
    a backslash and "xe9" reads `caf\\\\xe9.txt`. Valid UTF-8 names without backslashes read as they are."""
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def raw_path(display: str) -> bytes:
    """The bytes of a name from display_path's text."""
    return ESCAPE.sub(_unescape, display.encode("utf-8"))


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match[1]
    return b"\\" if code == b"\\" else bytes([int(code[1:], 16)])


def os_path(raw_root: Location, source_path: str) -> Location:
    """Where a source_path is, in the form the storage opens (the bytes of the name, whatever the locale)."""
    return raw_root / backend(raw_root).fsdecode(raw_path(source_path))


def list_partition(raw_root: Location, day: date, io_threads: int = IO_THREADS) -> tuple[list[SourceFile], list[str]]:
    """Every file under RAW/<day>/, sorted; exact duplicates point at their first copy. Files are hashed
    io_threads at a time: the wait is the disk's or, much longer, the store's.

    Returns (files, ignored): ignored are hidden files and partial uploads, which are not yet articles.
    """
    folder = raw_root / day.isoformat()
    store = backend(folder)
    unreadable: list[SourceFile] = []  # one reject per folder that cannot be listed: never silence

    def display(relative: str) -> str:
        return display_path(store.fsencode(f"{day.isoformat()}/{relative}".rstrip("/")))

    def folder_failed(relative: str, error: OSError) -> None:
        path = display(relative)
        reason = f"unreadable folder: {error.strerror or error}"
        unreadable.append(SourceFile(path, doc_id_for(path), 0, None, reject_reason=reason))

    listed = store.walk(folder, folder_failed)
    articles: list[str] = []
    ignored: list[str] = []
    for relative in listed:
        name = relative.rsplit("/", 1)[-1]
        hidden_or_partial = name.startswith(".") or name.endswith(PARTIAL_SUFFIXES)
        (ignored if hidden_or_partial else articles).append(relative)

    def describe(group: list[str]) -> list[SourceFile]:
        return [_describe(folder, relative, display(relative), listed[relative]) for relative in group]

    # a few groups per thread: one task per file would cost more to hand out than to hash a short article
    per_task = max(1, len(articles) // (io_threads * TASKS_PER_THREAD))
    groups = [articles[i : i + per_task] for i in range(0, len(articles), per_task)]
    with ThreadPoolExecutor(io_threads) as pool:
        files = [source for group in pool.map(describe, groups) for source in group] + unreadable
    files.sort(key=lambda f: f.source_path)
    return _mark_duplicates(files), sorted(display(relative) for relative in ignored)


def _describe(folder: Location, relative: str, source_path: str, listed_size: int | None) -> SourceFile:
    path, doc_id = folder / relative, doc_id_for(source_path)
    if backend(path).links_outside(path, folder):
        return SourceFile(source_path, doc_id, 0, None, reject_reason="symlink pointing outside the landing folder")
    try:
        kind = backend(path).not_regular(path)
    except OSError as error:
        return SourceFile(source_path, doc_id, 0, None, reject_reason=f"unreadable: {error.strerror or error}")
    if kind is not None:
        return SourceFile(source_path, doc_id, 0, None, reject_reason=f"not a regular file: {kind}")
    if not path.name.lower().endswith(".txt"):
        size = _size(path) if listed_size is None else listed_size
        return SourceFile(source_path, doc_id, size, None, reject_reason="not a .txt file")
    try:
        size, digest = _hash(path, listed_size)
    except OSError as error:
        return SourceFile(source_path, doc_id, 0, None, reject_reason=f"unreadable: {error.strerror or error}")
    return SourceFile(source_path, doc_id, size, digest)


def _size(path: Location) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _hash(path: Location, listed_size: int | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with backend(path).open(path, listed_size) as handle:
        while chunk := handle.read(READ_BLOCK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _mark_duplicates(files: list[SourceFile]) -> list[SourceFile]:
    first_by_hash: dict[str, SourceFile] = {}
    marked = []
    for source in files:
        if source.sha256 is None or source.reject_reason:
            marked.append(source)
            continue
        original = first_by_hash.setdefault(source.sha256, source)
        if original is not source:
            source = replace(source, duplicate_of=original.doc_id, duplicate_of_path=original.source_path)
        marked.append(source)
    return marked


def shard(files: list[SourceFile], n_shards: int) -> list[list[SourceFile]]:
    """Deal files to shards biggest first, so shards get similar amounts of text, not just of files."""
    shards: list[list[SourceFile]] = [[] for _ in range(n_shards)]
    by_size = sorted(files, key=lambda f: (-f.n_bytes, f.source_path))
    for i, source in enumerate(by_size):
        round_, pos = divmod(i, n_shards)
        shards[pos if round_ % 2 == 0 else n_shards - 1 - pos].append(source)  # snake order
    return [sorted(s, key=lambda f: f.source_path) for s in shards]


def read_document(raw_root: Location, source: SourceFile, max_bytes: int) -> Document | Reject:
    """Read and decode one file; every failure becomes a Reject with a reason a person can act on."""
    if source.reject_reason:
        return Reject(source.source_path, source.reject_reason, source.n_bytes, source.sha256)
    path = os_path(raw_root, source.source_path)
    try:
        data = backend(path).read_at_most(path, max_bytes + 1)  # one ranged GET on a store
        if len(data) > max_bytes:
            return Reject(source.source_path, f"too large: over {max_bytes} bytes", _size(path), None)
    except OSError as error:
        # No hash: what could not be read is tried again by the next run, not taken over as unchanged.
        return Reject(source.source_path, f"unreadable: {error.strerror or error}", source.n_bytes, None)
    digest = hashlib.sha256(data).hexdigest()
    try:
        text, encoding = decode(data)
    except NotText as reason:
        return Reject(source.source_path, str(reason), len(data), digest)
    duplicate_of = source.duplicate_of if _still_a_copy(raw_root, source, digest) else None
    return Document(source.doc_id, source.source_path, text, encoding, len(data), digest, duplicate_of)


def _still_a_copy(raw_root: Location, source: SourceFile, digest: str) -> bool:
    """Files are read as they are now, not as the plan saw them: a duplicate stays one only if neither it nor
    its first copy was rewritten since (the first copy is hashed again: one more read per duplicate)."""
    if source.duplicate_of is None or digest != source.sha256:
        return False
    if source.duplicate_of_path is None:  # a plan written before the first copy's path was recorded
        return True
    try:
        return _hash(os_path(raw_root, source.duplicate_of_path), None)[1] == digest
    except OSError:
        return False  # gone or unreadable now: this copy is analysed on its own

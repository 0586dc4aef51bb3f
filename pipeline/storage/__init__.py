"""Where the landing folder and the lake live: a local folder, or a prefix on S3-compatible object storage.

A location is a universal_pathlib path either way (pathlib's API over fsspec): a local folder is a
PosixUPath (a pathlib.Path), `s3://bucket/prefix` an S3Path through s3fs. Whatever differs between the two
lives in one backend per kind of storage, `local.py` and `s3.py`: parsing, listing, reading, publishing,
removing, credentials, and what DuckDB needs to read there. Callers ask `backend(path)` and never test which
kind they hold. A new kind of storage is one more module with the `Backend` methods and one entry in BACKENDS.

Object stores have no rename, so "write beside, then rename" is for local disks only. On a store an
object appears whole when its upload completes (one PUT, or a completed multipart upload); the lake's
commit protocol (lake.py) relies on nothing more.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from upath import UPath

from pipeline.errors import UserError, WriteFailed
from pipeline.storage.local import Local
from pipeline.storage.s3 import S3, connection_env

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "IO_THREADS",
    "Backend",
    "Location",
    "backend",
    "connection_env",
    "is_storage_error",
    "location",
    "publish",
    "remove_tree",
    "staged",
    "write_bytes",
    "writing",
]

Location = UPath  # a local folder or a prefix on an object store
# Files read or written at once (hashing in the plan) and connections to a store: the wait is the disk's or,
# much longer, the store's latency, not the CPU. Settings.io_threads (NEWS_IO_THREADS) overrides it.
IO_THREADS = 32


class Backend(Protocol):
    """What one kind of storage does its own way. Paths are locations of that backend."""

    def parse(self, text: str, io_threads: int) -> Location:
        """The location a setting names (raises UserError for one that cannot be used)."""

    def walk(self, folder: Location, onerror: Callable[[str, OSError], None] | None = None) -> dict[str, int | None]:
        """Files under folder, as sorted paths relative to it, with their sizes where the listing gives them;
        hidden folders skipped, links never followed (a link to a folder is an entry). A folder that cannot be
        listed is passed to onerror (its path relative to folder, "" for folder itself) with the error."""

    def links_outside(self, path: Location, folder: Location) -> bool:
        """Whether path is a link to something outside folder."""

    def not_regular(self, path: Location) -> str | None:
        """What path is if not a regular file ("FIFO", "symlink to a socket", "folder"...), else None; found
        without opening it. Raises OSError when it cannot be looked at."""

    def fsencode(self, name: str) -> bytes:
        """The bytes of a name as walk lists it (a local name may hold undecodable bytes as surrogates)."""

    def fsdecode(self, name: bytes) -> str:
        """The name to open for those bytes (fsencode reversed)."""

    def open(self, path: Location, size: int | None) -> BinaryIO:
        """Open for reading; size, when listed, spares a request for it."""

    def read_at_most(self, path: Location, limit: int) -> bytes:
        """The first `limit` bytes (all of a smaller file) in one read, whatever the file's size."""

    def arrow_target(self, path: Location) -> dict[str, Any]:
        """Keyword arguments naming the file to pyarrow: `where`, and `filesystem` if not the local one."""

    def staged(self, path: Location) -> Location:
        """Where to write a file that must appear whole at path (its parent folders made)."""

    def publish(self, staged: Location, path: Location) -> None:
        """Make the staged file appear at path, all at once."""

    def remove_tree(self, path: Location) -> None:
        """Remove a folder and everything under it; nothing there is fine."""

    def delta_options(self) -> dict[str, str]:
        """delta-rs's storage options for a table there."""

    def serialises_commits(self) -> bool:
        """True where the store cannot arbitrate two Delta commits at once (no conditional writes): commits
        then take the lake's commit lock (locks.py), one at a time."""

    def duckdb_setup(self, env: Mapping[str, str], in_shell: bool = False) -> list[str]:
        """The SQL statements that let a DuckDB session read this backend's paths (credentials from env; in the
        `duckdb` shell, read by the shell from its own environment)."""

    def prepare_duckdb(self, con: duckdb.DuckDBPyConnection, env: Mapping[str, str]) -> None:
        """Run duckdb_setup's statements on a Python connection."""


BACKENDS: dict[str, Backend] = {"": Local(), "s3": S3()}  # by URI scheme; "" is a local path


def location(text: str | os.PathLike[str], io_threads: int = IO_THREADS) -> Location:
    """A local path (made absolute) or an object-store URI such as s3://bucket/prefix."""
    text = os.fspath(text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in BACKENDS:
        raise UserError(f"unsupported location {text!r}: use a local path or s3://bucket/prefix")
    return BACKENDS[scheme].parse(text, io_threads)


def backend(path: Location | Path) -> Backend:
    """The backend a location belongs to; a plain pathlib.Path is a local location too."""
    return BACKENDS[path.protocol if isinstance(path, UPath) else ""]


def is_storage_error(error: BaseException) -> bool:
    """Errors of a disk or store we cannot reach or may not write: the environment's fault, not a bug."""
    return isinstance(error, OSError) or type(error).__module__.startswith("botocore")


def staged(path: Location) -> Location:
    """Where to write a file that must appear whole at `path`: a hidden temp file beside it on a local
    disk (renamed by `publish`), the path itself on a store (an upload appears only once complete)."""
    return backend(path).staged(path)


def publish(staged_path: Location, path: Location) -> None:
    backend(path).publish(staged_path, path)


@contextlib.contextmanager
def writing(path: Location) -> Iterator[Location]:
    """Stage a file for path, publish it when the block ends; on any write error remove what was staged and
    raise WriteFailed naming path, so a full disk leaves nothing behind."""
    tmp = staged(path)
    try:
        yield tmp
        publish(tmp, path)
    except Exception as error:
        if tmp != path:  # on a store the upload itself is the file: a failed one leaves nothing
            tmp.unlink(missing_ok=True)
        if is_storage_error(error):
            raise WriteFailed(path, error) from None
        raise


def write_bytes(path: Location, data: bytes) -> None:
    with writing(path) as tmp:
        tmp.write_bytes(data)


def remove_tree(path: Location) -> None:
    backend(path).remove_tree(path)

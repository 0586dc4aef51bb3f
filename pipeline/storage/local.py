"""A folder on this machine (a local disk or a mounted share): pathlib and os, files published by rename."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from upath import UPath

if TYPE_CHECKING:
    import duckdb


# What a path is when it is not a regular file, for reject reasons ("not a regular file: FIFO").
KINDS = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


class Local:
    def parse(self, text: str, io_threads: int) -> UPath:
        return UPath(Path(text).expanduser().absolute())

    def walk(self, folder: UPath, onerror: Callable[[str, OSError], None] | None = None) -> dict[str, int | None]:
        # Links to folders are listed as entries, never followed; the sizes come with hashing, at no extra cost.
        def failed(error: OSError) -> None:
            if onerror is not None:
                relative = Path(error.filename).relative_to(folder).as_posix()
                onerror("" if relative == "." else relative, error)

        found = []
        top = os.fspath(folder)
        for dirpath, dirnames, filenames in os.walk(top, onerror=failed, followlinks=False):
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in links]
            below = Path(os.path.relpath(dirpath, top)).as_posix()  # once per folder: pathlib per file is slow
            prefix = "" if below == "." else f"{below}/"
            found += [prefix + name for name in filenames + links]
        return dict.fromkeys(sorted(found))

    def not_regular(self, path: UPath) -> str | None:
        # stat, not open: opening a FIFO for reading blocks until a writer comes, a device may act on open.
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            if os.path.islink(path):
                return "broken symlink"
            raise
        if stat.S_ISREG(mode):
            return None
        kind = next((name for test, name in KINDS if test(mode)), "special file")
        return f"symlink to a {kind}" if os.path.islink(path) else kind

    def fsencode(self, name: str) -> bytes:
        return os.fsencode(name)

    def fsdecode(self, name: bytes) -> str:
        return os.fsdecode(name)

    def links_outside(self, path: UPath, folder: UPath) -> bool:
        return path.is_symlink() and not path.resolve().is_relative_to(folder.resolve())

    def open(self, path: UPath, size: int | None) -> BinaryIO:
        return open_regular(path)

    def read_at_most(self, path: UPath, limit: int) -> bytes:
        with open_regular(path) as handle:
            return handle.read(limit)

    def arrow_target(self, path: UPath) -> dict[str, Any]:
        return {"where": str(path)}

    def staged(self, path: UPath) -> UPath:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.tmp")

    def publish(self, staged: UPath, path: UPath) -> None:
        os.replace(staged, path)

    def remove_tree(self, path: UPath) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def delta_options(self) -> dict[str, str]:
        return {}

    def serialises_commits(self) -> bool:
        return False  # delta-rs commits with an atomic rename that refuses to replace: safe side by side

    def duckdb_setup(self, env: Mapping[str, str], in_shell: bool = False) -> list[str]:
        return []  # DuckDB reads local files by itself

    def prepare_duckdb(self, con: duckdb.DuckDBPyConnection, env: Mapping[str, str]) -> None:
        """DuckDB reads local files by itself."""


def open_regular(path: UPath) -> BinaryIO:
    """Open a regular file for reading. O_NONBLOCK: a FIFO put in a file's place after the listing must not
    block the run (regular files ignore the flag); it is refused once open."""
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY), "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return handle

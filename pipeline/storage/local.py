"""A folder on this machine (a local disk or a mounted share): pathlib and os, files published by rename."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from upath import UPath

if TYPE_CHECKING:
    import duckdb


class Local:
    def parse(self, text: str, io_threads: int) -> UPath:
        return UPath(Path(text).expanduser().absolute())

    def walk(self, folder: UPath) -> dict[str, int | None]:
        # os.walk skips symlinked folders (followlinks=False); the sizes come with hashing, at no extra cost.
        found = []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found += [(Path(dirpath) / name).relative_to(folder).as_posix() for name in filenames]
        return dict.fromkeys(sorted(found))

    def links_outside(self, path: UPath, folder: UPath) -> bool:
        return path.is_symlink() and not path.resolve().is_relative_to(folder.resolve())

    def open(self, path: UPath, size: int | None) -> BinaryIO:
        return path.open("rb")

    def read_at_most(self, path: UPath, limit: int) -> bytes:
        with path.open("rb") as handle:
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

    def prepare_duckdb(self, con: duckdb.DuckDBPyConnection, env: Mapping[str, str]) -> None:
        """DuckDB reads local files by itself."""

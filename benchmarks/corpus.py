"""The benchmarks' input: a shared corpus (read at run time, never copied into the repository) laid out as
one date's landing folder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "bbc"


def corpus_files(corpus: Path, limit: int | None) -> list[Path]:
    """The corpus's article files in a stable order (its README and index files are not articles)."""
    if not corpus.is_dir():
        sys.exit(f"no corpus at {corpus}: give --corpus (the shared corpora are read at run time)")
    files = sorted(p for p in corpus.rglob("*.txt") if p.name[0].isdigit())
    return files[:limit] if limit else files


def lay_out(files: list[Path], corpus: Path, landing: Path) -> None:
    """Copy the files into a landing folder, keeping their paths below the corpus."""
    for path in files:
        target = landing / path.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

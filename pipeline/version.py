"""The version recorded on every row: the package version and a digest of what decides the rows.

The digest covers the code that turns a file into rows (reading and decoding, the spaCy stage, every extractor
and the weights it learned, the table declarations) and the settings that change rows, so a change that alters
output is never carried over as "unchanged" by an incremental rerun: nobody has to remember to bump a number.
The code is hashed as its syntax tree (comments and formatting do not count; docstrings do, to keep the rule
simple).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

from pipeline import __version__

PACKAGE = Path(__file__).parent
# What decides the rows of a document: the rest (orchestration, lake bookkeeping, views, CLI) does not.
EXTRACTION_CODE = (
    "extract",
    "analysis.py",
    "decode.py",
    "documents.py",
    "nlp.py",
    "registry.py",
    "tables.py",
    "rollups.py",
)
# The rollups' SQL decides their rows too (a rerun that changes nothing carries them over): hashed as text.
ROLLUP_SQL = "rollups"


@cache
def code_digest(package: Path = PACKAGE) -> str:
    digest = hashlib.sha256()
    for name in EXTRACTION_CODE:
        path = package / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(package).as_posix().encode())
            digest.update(ast.dump(ast.parse(source.read_text(encoding="utf-8"))).encode())
        for model in sorted(path.rglob("*.json")) if path.is_dir() else []:  # learned weights decide rows too
            digest.update(model.relative_to(package).as_posix().encode() + model.read_bytes())
    from pipeline.views import sql_dir  # views reads the registry: imported when first needed

    for source in sorted((sql_dir() / ROLLUP_SQL).glob("*.sql")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def pipeline_version(exclude: tuple[str, ...], chunk_chars: int) -> str:
    """e.g. 0.1.0+3f2a9c1b7d: also changes when the excluded spaCy components or the piece size change."""
    settings = repr((sorted(exclude), chunk_chars)).encode()
    return f"{__version__}+{hashlib.sha256(code_digest().encode() + settings).hexdigest()[:10]}"

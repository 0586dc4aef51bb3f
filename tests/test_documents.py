import hashlib
from datetime import date

import pytest

from pipeline.documents import (
    Document,
    Reject,
    display_path,
    doc_id_for,
    list_partition,
    raw_path,
    read_document,
    shard,
)

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 24)


def make_landing(root):
    folder = root / DAY.isoformat()
    (folder / "wire").mkdir(parents=True)
    (folder / "a.txt").write_text("Headline\n\nBody one.\n")
    (folder / "wire" / "b.txt").write_text("Headline\n\nBody one.\n")  # exact duplicate of a.txt
    (folder / "c.txt").write_text("Another story\n\nBody two.\n")
    (folder / "notes.html").write_text("<p>not an article</p>")
    (folder / ".hidden.txt").write_text("x")
    (folder / "upload.txt.part").write_text("half")
    outside = root / "secret.txt"
    outside.write_text("do not read")
    (folder / "link.txt").symlink_to(outside)
    return folder


def test_listing_accounts_for_every_file(tmp_path):
    make_landing(tmp_path)
    files, ignored = list_partition(tmp_path, DAY)
    by_name = {f.source_path: f for f in files}
    assert sorted(by_name) == [
        "2026-11-24/a.txt",
        "2026-11-24/c.txt",
        "2026-11-24/link.txt",
        "2026-11-24/notes.html",
        "2026-11-24/wire/b.txt",
    ]
    assert ignored == ["2026-11-24/.hidden.txt", "2026-11-24/upload.txt.part"]
    assert by_name["2026-11-24/wire/b.txt"].duplicate_of == by_name["2026-11-24/a.txt"].doc_id
    assert by_name["2026-11-24/a.txt"].duplicate_of is None
    assert by_name["2026-11-24/link.txt"].reject_reason == "symlink pointing outside the landing folder"
    assert by_name["2026-11-24/notes.html"].reject_reason == "not a .txt file"


def test_reading_never_follows_a_symlink_out(tmp_path):
    make_landing(tmp_path)
    files, _ = list_partition(tmp_path, DAY)
    results = {f.source_path: read_document(tmp_path, f, max_bytes=1000) for f in files}
    link = results["2026-11-24/link.txt"]
    assert isinstance(link, Reject)
    assert "symlink" in link.reason
    assert isinstance(results["2026-11-24/a.txt"], Document)
    assert all("do not read" not in getattr(r, "text", "") for r in results.values())


def test_too_large_files_are_rejected_not_read(tmp_path):
    make_landing(tmp_path)
    files, _ = list_partition(tmp_path, DAY)
    result = read_document(tmp_path, files[0], max_bytes=5)
    assert isinstance(result, Reject)
    assert result.reason.startswith("too large")


def test_shards_partition_the_files_and_balance_bytes(tmp_path):
    folder = tmp_path / DAY.isoformat()
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:03d}.txt").write_text("word " * (i * 50 + 1))
    files, _ = list_partition(tmp_path, DAY)
    shards = shard(files, 4)
    assert sorted(f.source_path for s in shards for f in s) == sorted(f.source_path for f in files)
    sizes = [sum(f.n_bytes for f in s) for s in shards]
    assert max(sizes) / min(sizes) < 1.1


def test_display_names_are_utf8_and_give_back_the_bytes():
    assert display_path(b"latin1-caf\xe9.txt") == "latin1-caf\\xe9.txt"
    assert display_path("café.txt".encode()) == "café.txt"
    assert display_path(b"caf\\xe9.txt") == "caf\\\\xe9.txt"  # a real backslash never reads as an escape
    for raw in (b"latin1-caf\xe9.txt", b"caf\\xe9.txt", b"\\", b"\xed\xb3\xa9", b"d\xff/\xc3", "ñandú 🎉".encode()):
        assert raw_path(display_path(raw)) == raw
        display_path(raw).encode("utf-8")  # no lone surrogates: Parquet and JSON take it as it is


def test_doc_ids_come_from_the_bytes_of_the_name():
    assert doc_id_for("2026-11-24/a.txt") == hashlib.blake2b(b"2026-11-24/a.txt", digest_size=8).hexdigest()
    assert (
        doc_id_for("2026-11-24/caf\\xe9.txt") == hashlib.blake2b(b"2026-11-24/caf\xe9.txt", digest_size=8).hexdigest()
    )

"""Near-duplicates: wire copies and lightly edited re-posts of the same story.

Each document gets a MinHash signature of its word 5-shingles (in the shards, in parallel); the commit then
groups a partition's documents whose estimated Jaccard similarity is at least THRESHOLD, using
locality-sensitive hashing so no pair-by-pair comparison of the whole partition is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from pipeline.tables import DOC_ID, Table

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 128
SHINGLE_WORDS = 5
THRESHOLD = 0.8
BATCH_SHINGLES = 4096
WORD = re.compile(r"\w+")


@cache
def _empty() -> MinHash:
    """A MinHash with its permutations made once: MinHash() would remake them each time. datasketch is
    imported here, not at module level, so declaring the tables stays cheap."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM)


def signature(text: str) -> list[int]:
    """The MinHash signature of the text's lower-cased word 5-shingles (whole text if shorter)."""
    words = WORD.findall(text.lower())
    minhash = _empty().copy()
    n_shingles = max(1, len(words) - SHINGLE_WORDS + 1)
    # update_batch hashes a (shingles x permutations) matrix at once: feed it slices, so memory stays small
    for start in range(0, n_shingles, BATCH_SHINGLES):
        stop = min(start + BATCH_SHINGLES, n_shingles)
        minhash.update_batch([" ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8") for i in range(start, stop)])
    return minhash.hashvalues.tolist()


def cluster_rows(doc_ids: Sequence[str], signatures: np.ndarray, threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """One row per document that has near-duplicates: doc_id, cluster_id (its smallest doc_id), similarity
    (estimated Jaccard with the cluster's first member). signatures: one row of NUM_PERM values per doc_id.

    The LSH of datasketch's MinHashLSH (its bands for this threshold), done with numpy over the whole matrix:
    documents that agree on all of a band's values are candidates, and only candidates are compared. No
    Python object per document, so a night of a million documents fits in a few GB.
    """
    sigs = np.asarray(signatures)
    if len(doc_ids) != len(sigs):
        raise ValueError("one signature per doc_id")
    parent = list(range(len(doc_ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    from datasketch import MinHashLSH

    first, second = candidate_pairs(sigs, MinHashLSH(threshold=threshold, num_perm=NUM_PERM).hashranges)
    similar = (sigs[first] == sigs[second]).mean(axis=1) >= threshold  # keep only real matches
    for a, b in zip(first[similar].tolist(), second[similar].tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for i in range(len(doc_ids)):
        members.setdefault(root(i), []).append(i)
    rows = []
    for group in (g for g in members.values() if len(g) > 1):
        head = min(group, key=lambda i: doc_ids[i])
        similarity = (sigs[group] == sigs[head]).mean(axis=1)
        rows += [
            {"doc_id": doc_ids[i], "cluster_id": doc_ids[head], "similarity": float(s)}
            for i, s in zip(group, similarity.tolist(), strict=True)
        ]
    return sorted(rows, key=lambda row: (row["cluster_id"], row["doc_id"]))


def candidate_pairs(sigs: np.ndarray, bands: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j) that agree on every value of at least one band, each pair once."""
    pairs: set[tuple[int, int]] = set()
    for start, end in bands:
        band = np.ascontiguousarray(sigs[:, start:end])
        keys = band.view(np.dtype((np.void, band.dtype.itemsize * (end - start)))).ravel()
        _, bucket, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(counts[bucket] > 1)
        shared = shared[np.argsort(bucket[shared], kind="stable")]
        for members in np.split(shared, np.flatnonzero(np.diff(bucket[shared])) + 1):
            pairs.update(combinations(members.tolist(), 2))
    ordered = sorted(pairs)
    return np.array([a for a, _ in ordered], dtype=np.int64), np.array([b for _, b in ordered], dtype=np.int64)


SIGNATURES = Table(
    "signatures",
    "MinHash signatures of word 5-shingles, one per document: what the commit clusters near-duplicates from.",
    (
        DOC_ID,
        (
            "minhash",
            pa.list_(pa.int64()),
            f"{NUM_PERM} MinHash values (32-bit unsigned; Delta Lake has no unsigned types)",
        ),
    ),
)
NEAR_DUPLICATES = Table(
    "near_duplicates",
    "Documents of a date that have near-duplicates (wire copies, lightly edited re-posts), grouped by cluster.",
    (
        DOC_ID,
        ("cluster_id", pa.string(), "the cluster's smallest doc_id"),
        (
            "similarity",
            pa.float32(),
            "estimated Jaccard similarity of word 5-shingles with the cluster's first document",
        ),
    ),
    written_by="commit",
)

"""Near-duplicates: wire copies and lightly edited re-posts of the same story.

Each document gets a MinHash signature of its word 5-shingles (in the shards, in parallel); the commit then
groups a partition's documents whose estimated Jaccard similarity is at least THRESHOLD, using
locality-sensitive hashing so no pair-by-pair comparison of the whole partition is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE_WORDS = 5
THRESHOLD = 0.8
BATCH_SHINGLES = 4096
WORD = re.compile(r"\w+")
_EMPTY = MinHash(num_perm=NUM_PERM)  # its permutations, made once: MinHash() would remake them each time


def signature(text: str) -> list[int]:
    """The MinHash signature of the text's lower-cased word 5-shingles (whole text if shorter)."""
    words = WORD.findall(text.lower())
    minhash = _EMPTY.copy()
    n_shingles = max(1, len(words) - SHINGLE_WORDS + 1)
    # update_batch hashes a (shingles x permutations) matrix at once: feed it slices, so memory stays small
    for start in range(0, n_shingles, BATCH_SHINGLES):
        stop = min(start + BATCH_SHINGLES, n_shingles)
        minhash.update_batch([" ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8") for i in range(start, stop)])
    return minhash.hashvalues.tolist()


def cluster_rows(signatures: Mapping[str, Sequence[int]], threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """One row per document that has near-duplicates: doc_id, cluster_id (its smallest doc_id), similarity
    (estimated Jaccard with the cluster's first member)."""
    hashes = {
        doc_id: LeanMinHash(seed=_EMPTY.seed, hashvalues=np.asarray(values), scheme=_EMPTY.scheme)
        for doc_id, values in sorted(signatures.items())
    }
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    parent = {doc_id: doc_id for doc_id in hashes}

    def root(doc_id: str) -> str:
        while parent[doc_id] != doc_id:
            parent[doc_id] = parent[parent[doc_id]]
            doc_id = parent[doc_id]
        return doc_id

    for doc_id, minhash in hashes.items():
        for other in lsh.query(minhash):
            if minhash.jaccard(hashes[other]) >= threshold:  # LSH gives candidates; keep only real matches
                a, b = sorted((root(doc_id), root(other)))
                parent[b] = a
        lsh.insert(doc_id, minhash)
    members: dict[str, list[str]] = {}
    for doc_id in hashes:
        members.setdefault(root(doc_id), []).append(doc_id)
    return [
        {"doc_id": doc_id, "cluster_id": min(group), "similarity": hashes[doc_id].jaccard(hashes[min(group)])}
        for group in members.values()
        if len(group) > 1
        for doc_id in group
    ]

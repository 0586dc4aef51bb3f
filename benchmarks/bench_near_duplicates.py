"""The commit's near-duplicate clustering against datasketch's own MinHashLSH, on the same signatures.

    .venv/bin/python benchmarks/bench_near_duplicates.py [--sizes 20000 100000 1000000] [--baseline-up-to 100000]

Random signatures with 2 % planted near-copies; each size in a fresh process, so peak memory is its own.
The baseline (MinHashLSH objects, query then insert, as the commit did before) runs up to --baseline-up-to.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

RUN = """
import json, resource, sys, time
import numpy as np
from datasketch import LeanMinHash, MinHashLSH
from pipeline.extract.near_duplicates import NUM_PERM, THRESHOLD, cluster_rows

n, how = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
sigs = rng.integers(0, 2**32, (n, NUM_PERM), dtype=np.uint32)
copies = rng.choice(n, n // 50, replace=False)
sigs[copies] = sigs[rng.choice(n, len(copies))]
edited = rng.random((len(copies), NUM_PERM)) > 0.95
sigs[copies] = np.where(edited, rng.integers(0, 2**32, edited.shape, dtype=np.uint32), sigs[copies])
ids = [f"d{i:08d}" for i in range(n)]
start = time.perf_counter()
if how == "numpy":
    found = len(cluster_rows(ids, sigs))
else:
    lsh, hashes, found = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM), {}, 0
    for doc_id, row in zip(ids, sigs):
        hashes[doc_id] = LeanMinHash(seed=1, hashvalues=row.astype(np.uint64), scheme="legacy")
        found += sum(hashes[doc_id].jaccard(hashes[o]) >= THRESHOLD for o in lsh.query(hashes[doc_id]))
        lsh.insert(doc_id, hashes[doc_id])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "found": found}))
"""


def measure(n: int, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", RUN, str(n), how], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    parser.add_argument("--baseline-up-to", type=int, default=100_000)
    args = parser.parse_args()
    print(f"{'documents':>10} {'numpy (s)':>10} {'peak MB':>8} {'MinHashLSH (s)':>15} {'peak MB':>8} {'ratio':>7}")
    for n in args.sizes:
        ours = measure(n, "numpy")
        line = f"{n:>10,} {ours['seconds']:>10.2f} {ours['peak_mb']:>8}"
        if n <= args.baseline_up_to:
            base = measure(n, "datasketch")
            line += f" {base['seconds']:>15.2f} {base['peak_mb']:>8} {base['seconds'] / ours['seconds']:>6.0f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()

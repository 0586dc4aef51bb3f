"""What the extractors cost beside spaCy: the same texts parsed once (news-etl's components and batch size),
then every extractor over the Docs, each timed in CPU seconds, extraction as a share of the parse.

    .venv/bin/python benchmarks/bench_extract.py [--corpus ../shared/corpora/bbc] [--limit 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from corpus import corpus_files

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.analysis import extract_document  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.extract.document import facts_of  # noqa: E402
from pipeline.nlp import load_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "reuters21578")
    parser.add_argument("--limit", type=int, default=600, help="files spread evenly over the corpus")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    files = corpus_files(args.corpus, None)
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
    texts = [p.read_bytes().decode("utf-8", "replace") for p in files]
    settings = Settings(raw_root=Path("."), lake=Path("."), db=Path("."))
    nlp = load_model(settings.model, settings.exclude)
    facts = [facts_of(text) for text in texts]
    start = time.process_time()
    docs = list(nlp.pipe(texts, batch_size=settings.batch_size))
    parse = time.process_time() - start
    extract_document("warm-up", docs[0], facts[0].dateline)  # first calls import and compile
    seconds = []
    for _ in range(args.repeats):
        start = time.process_time()
        for i, (doc, fact) in enumerate(zip(docs, facts, strict=True)):
            extract_document(str(i), doc, fact.dateline)
        seconds.append(time.process_time() - start)
    extract = statistics.median(seconds)
    print(f"{args.corpus.name}: {len(texts)} texts; spaCy {parse:.2f} s CPU, extractors {extract:.2f} s CPU")
    print(f"extraction / parse: {extract / parse:.1%} (median of {args.repeats})")


if __name__ == "__main__":
    main()

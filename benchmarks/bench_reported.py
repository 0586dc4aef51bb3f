"""What reported speech (indirect quotations) costs: extraction with and without it on the same Docs, side by side.

    .venv/bin/python benchmarks/bench_reported.py [--corpus ../shared/corpora/reuters21578] [--limit 200] [--repeats 5]

The texts are read and decoded as a run reads them, parsed once with the production model and exclusions (the
parse is the same either way), then every extractor of the registry runs over all Docs, alternately with reported
speech and with it switched off (pipeline.extract.reported.reported_speech returning nothing), --repeats times
each; medians. The ratio that matters is the whole analysis (parse + extraction) with over without; extraction
alone is shown too. Also: the share of sentences quotes.needs_parse keeps (issue 19's saving).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from corpus import corpus_files

from pipeline.analysis import extract_document
from pipeline.config import Settings
from pipeline.decode import decode
from pipeline.extract import reported
from pipeline.extract.quotes import needs_parse
from pipeline.nlp import load_model

REUTERS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "reuters21578"


def extract_all(docs: list) -> float:
    start = time.perf_counter()
    for i, doc in enumerate(docs):
        extract_document(f"d{i}", doc)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REUTERS)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = [decode(path.read_bytes())[0] for path in corpus_files(args.corpus, args.limit)]
    settings = Settings.from_env(env={})
    nlp = load_model(settings.model, settings.exclude)
    parse_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=settings.batch_size))
        parse_times.append(time.perf_counter() - start)
    real = reported.reported_speech
    with_times, without_times = [], []
    for _ in range(args.repeats):  # alternating, so drifting load on the machine hits both alike
        reported.reported_speech = real
        with_times.append(extract_all(docs))
        reported.reported_speech = lambda *_: []
        without_times.append(extract_all(docs))
    reported.reported_speech = real
    rows = [extract_document(f"d{i}", doc)["quotes"] for i, doc in enumerate(docs)]
    kinds = [row["kind"] for doc_rows in rows for row in doc_rows]
    sentences = [sent.text for doc in docs for sent in doc.sents]
    parse, on, off = (statistics.median(t) for t in (parse_times, with_times, without_times))
    print(f"{len(texts)} texts from {args.corpus}, {sum(len(d) for d in docs):,} tokens; medians of {args.repeats}")
    print(f"quotes: {kinds.count('direct')} direct, {kinds.count('indirect')} indirect")
    print("| phase | without reported speech (s) | with (s) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| spaCy parse (the same Docs for both) | {parse:.2f} | {parse:.2f} | 1.000 |")
    print(f"| every extractor | {off:.2f} | {on:.2f} | {on / off:.3f} |")
    print(f"| parse + extraction | {parse + off:.2f} | {parse + on:.2f} | {(parse + on) / (parse + off):.3f} |")
    kept = sum(needs_parse(s) for s in sentences)
    print(f"needs_parse keeps {kept:,} of {len(sentences):,} sentences ({kept / len(sentences):.1%})")


if __name__ == "__main__":
    main()

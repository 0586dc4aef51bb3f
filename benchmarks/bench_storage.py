"""The same date on a local disk and on S3 (a real S3 server, `rclone serve s3`, on loopback), side by side.

    .venv/bin/python benchmarks/bench_storage.py --corpus ../shared/corpora/bbc [--limit 500] [--repeat 3]
        [--latency-ms 20]

Phases, each timed for the local lake and landing folder, then for s3://, with the ratio:
  1. plan: list and hash the landing folder (median of --repeat);
  2. news-etl run --workers 1 --force: the whole date, every table written;
  3. the views: build the DuckDB database, then query every view (median of --repeat).
Loopback has no network latency, so by default this measures the client's own cost. --latency-ms puts a
proxy in front of the server that holds every request that long, as a store across a network would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from corpus import DEFAULT_CORPUS, corpus_files, lay_out

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = date(2026, 11, 24)
KEY, SECRET = "bench-key", "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    address, auth = f"127.0.0.1:{port}", f"{KEY},{SECRET}"
    server = subprocess.Popen(
        [str(BIN / "rclone"), "serve", "s3", str(folder), "--addr", address, "--auth-key", auth],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        time.sleep(0.2)
    return server, f"http://127.0.0.1:{port}"


def delay_requests(target: str, seconds: float) -> str:
    """A TCP proxy on loopback that holds each chunk sent to the server `seconds` (one request: one chunk)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        try:
            while data := await reader.read(1 << 16):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        host, port = target.removeprefix("http://").split(":")
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_reader, server_writer, seconds), pipe(server_reader, client_writer, 0))

    port = free_port()

    async def serve() -> None:
        async with await asyncio.start_server(handle, "127.0.0.1", port) as server:
            await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


PLAN = """
import sys, time
from datetime import date
from pipeline.config import Settings
from pipeline.documents import list_partition
settings = Settings.from_env()
start = time.perf_counter()
files, _ = list_partition(settings.raw_root, date.fromisoformat(sys.argv[1]))
print(time.perf_counter() - start, len(files))
"""

VIEWS = """
import time
from pipeline.config import Settings
from pipeline.views import build_database, connect
settings = Settings.from_env()
start = time.perf_counter()
names = build_database(settings.lake, settings.db)
build = time.perf_counter() - start
con = connect(settings.db, settings.lake)
start = time.perf_counter()
for name in names:
    con.sql(f'select count(*) from "{name}"').fetchall()
print(build, time.perf_counter() - start)
"""


def measure(env: dict[str, str], repeat: int) -> dict[str, float]:
    plan_command = [sys.executable, "-c", PLAN, str(DAY)]
    plan = [float(subprocess.check_output(plan_command, env=env).split()[0]) for _ in range(repeat)]
    run = timed([str(BIN / "news-etl"), "run", "--date", str(DAY), "--force", "--no-views"], env)
    views = [subprocess.check_output([sys.executable, "-c", VIEWS], env=env).split() for _ in range(repeat)]
    return {
        "plan: list + hash (s)": statistics.median(plan),
        "run --workers 1 (s)": run,
        "views: build (s)": statistics.median(float(b) for b, _ in views),
        "views: count(*) of every view (s)": statistics.median(float(q) for _, q in views),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0, help="hold each request to the store this long")
    args = parser.parse_args()
    files = corpus_files(args.corpus, args.limit)
    work = Path(tempfile.mkdtemp(prefix="news-bench-storage-"))
    try:
        lay_out(files, args.corpus, work / "local" / "raw" / str(DAY))
        bucket = work / "served" / "news"
        shutil.copytree(work / "local" / "raw", bucket / "raw")  # the same files, served over the S3 API
        server, endpoint = start_s3(work / "served")
        if args.latency_ms:
            endpoint = delay_requests(endpoint, args.latency_ms / 1000)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NEWS_", "AWS_"))}
        local = {**base, "NEWS_DATA_ROOT": str(work / "local")}
        s3 = {
            **base,
            "NEWS_RAW_ROOT": "s3://news/raw",
            "NEWS_LAKE": "s3://news/lake",
            "NEWS_DB": str(work / "s3.duckdb"),
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_ENDPOINT_URL": endpoint,
        }
        try:
            latency = f", {args.latency_ms:g} ms added to each request" if args.latency_ms else ""
            print(f"{len(files)} files of {args.corpus}, medians of {args.repeat} where repeated{latency}")
            on_disk, on_s3 = measure(local, args.repeat), measure(s3, args.repeat)
        finally:
            server.terminate()
        print(f"{'phase':36} {'local':>9} {'s3 (rclone)':>12} {'s3/local':>9}")
        for phase, seconds in on_disk.items():
            print(f"{phase:36} {seconds:9.2f} {on_s3[phase]:12.2f} {on_s3[phase] / seconds:8.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""One run per date at a time, on a local disk and on object storage alike.

A run that wants a date writes its own lock object, LAKE/_locks/date=D/<run_id>.json, then lists the date's
locks. If any other live lock is there, it removes its own and refuses (DateBusy): at most one of any number
of simultaneous runs goes on, with nothing more from the store than a consistent listing (S3 has been
strongly consistent since 2020; no conditional writes needed, which rclone and some S3 servers lack). Two
runs starting at the same instant may both refuse; a retry sorts it out.

A lock is dead, and is removed by the next run, when its holder stopped beating (no heartbeat for
NEWS_LOCK_STALE_SECONDS: plans, shards and commits beat about once a minute), when it was taken by a command
line process or a compaction (maintain.py) on this machine that no longer exists, or when it belongs to the
same owner asking again (an Airflow run whose plan task is retried or cleared takes its own date back at once).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass

from pipeline.errors import DateBusy
from pipeline.storage import Location, write_bytes

LOCKS_DIR = "_locks"
COMMITS = "commits"  # in place of a date: the lake-wide lock of stores that serialise commits (lake.py)
CLI_OWNER = "cli"  # a `news-etl run` process: its lock dies with it
MAINTAIN_OWNER = "maintain"  # compaction (maintain.py), from the CLI or a task: held by one process, like a CLI run's
PROCESS_OWNERS = (CLI_OWNER, MAINTAIN_OWNER)
BEAT_SECONDS = 60  # heartbeats closer together than this are skipped: one small write a minute per shard


@dataclass(frozen=True)
class Lock:
    run_id: str
    owner: str  # "airflow:<dag_id>/<dag run id>" or CLI_OWNER
    host: str  # where the run was planned
    pid: int  # the planning process (for a CLI run: the process that runs everything)
    heartbeat: float  # seconds since the epoch


def lock_dir(lake: Location, day: str) -> Location:
    return lake / LOCKS_DIR / (COMMITS if day == COMMITS else f"date={day}")


def acquire(lake: Location, day: str, run_id: str, owner: str, stale_seconds: float) -> list[str]:
    """Take the date for run_id, or raise DateBusy naming the run that holds it. Returns the runs whose
    dead locks it took over: they never commit, what they wrote is garbage."""
    mine = Lock(run_id, owner, socket.gethostname(), os.getpid(), time.time())
    path = lock_dir(lake, day) / f"{run_id}.json"
    write_bytes(path, json.dumps(asdict(mine)).encode())
    dead = []
    for other in locks(lake, day):
        if other.run_id == run_id:
            continue
        if is_dead(other, mine, stale_seconds):
            (lock_dir(lake, day) / f"{other.run_id}.json").unlink(missing_ok=True)
            dead.append(other.run_id)
            continue
        path.unlink(missing_ok=True)
        seen = time.time() - other.heartbeat
        raise DateBusy(
            f"{day} is being processed by run {other.run_id} ({other.owner} on {other.host}, pid {other.pid}, "
            f"last heard from {seen:.0f} s ago); try again when it is done, or after {stale_seconds:.0f} s "
            "without a heartbeat it counts as dead (NEWS_LOCK_STALE_SECONDS)"
        )
    return dead


def locks(lake: Location, day: str) -> list[Lock]:
    folder = lock_dir(lake, day)
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(Lock(**json.loads(path.read_text(encoding="utf-8"))))
        except (FileNotFoundError, ValueError, TypeError):  # released meanwhile, or being written
            continue
    return found


def is_dead(other: Lock, mine: Lock, stale_seconds: float) -> bool:
    if mine.heartbeat - other.heartbeat > stale_seconds:
        return True
    if other.owner == mine.owner and other.owner not in PROCESS_OWNERS:
        return True  # the same Airflow run planning again: its earlier attempt is over
    return other.owner in PROCESS_OWNERS and other.host == mine.host and not pid_alive(other.pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def heartbeat(lake: Location, day: str, run_id: str) -> None:
    """Say the run is still alive; a lock released or taken over meanwhile is not written again."""
    path = lock_dir(lake, day) / f"{run_id}.json"
    try:
        lock = Lock(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return
    if time.time() - lock.heartbeat >= BEAT_SECONDS:
        write_bytes(path, json.dumps(asdict(lock) | {"heartbeat": time.time()}).encode())


def release(lake: Location, day: str, run_id: str) -> None:
    (lock_dir(lake, day) / f"{run_id}.json").unlink(missing_ok=True)

"""Where the landing folder and the lake live: a local folder, or a prefix on S3-compatible object storage.

Locations are universal_pathlib paths (pathlib's API over fsspec): a local folder stays a plain pathlib
path, `s3://bucket/prefix` goes through s3fs. Credentials and endpoint are never in code or settings:
botocore reads them from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL,
AWS_REGION...), which the DAG may fill from an Airflow connection.

Object stores have no rename, so "write beside, then rename" is for local disks only. On a store an
object appears whole when its upload completes (one PUT, or a completed multipart upload); the lake's
commit protocol (lake.py) relies on nothing more.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from upath import UPath

from pipeline.errors import UserError

S3_OPTIONS: dict[str, Any] = {
    # A run's files are written by other processes (shards, tasks on other machines): a cached listing
    # would hide them from the commit.
    "use_listings_cache": False,
    # botocore >= 1.36 adds checksums that S3-compatible servers (rclone, older MinIO, Ceph) do not all
    # implement; ask for them only where S3 requires them.
    "config_kwargs": {
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        # botocore allows 10 connections at once: planning reads documents.HASH_THREADS objects at a time.
        "max_pool_connections": 32,
    },
}
STORES = ("s3",)
Location = Path | UPath  # a local path, or a path on an object store


def location(text: str | os.PathLike[str]) -> Location:
    """A local path (made absolute) or an object-store URI such as s3://bucket/prefix."""
    text = os.fspath(text)
    if "://" not in text:
        return Path(text).expanduser().absolute()
    protocol = text.split("://", 1)[0].lower()
    if protocol not in STORES:
        raise UserError(f"unsupported location {text!r}: use a local path or s3://bucket/prefix")
    if len(text.split("://", 1)[1].strip("/")) == 0:
        raise UserError(f"location {text!r} names no bucket")
    return UPath(text.rstrip("/"), **S3_OPTIONS)


def connection_env(login: str | None, password: str | None, extra: Mapping[str, Any]) -> dict[str, str]:
    """The AWS_* variables for an Airflow connection of type aws (the Amazon provider's own layout: key id
    as login, secret as password, endpoint_url and region_name in the extra), so s3fs and DuckDB both see it."""
    pairs = {
        "AWS_ACCESS_KEY_ID": login,
        "AWS_SECRET_ACCESS_KEY": password,
        "AWS_ENDPOINT_URL": extra.get("endpoint_url"),
        "AWS_REGION": extra.get("region_name"),
    }
    return {name: str(value) for name, value in pairs.items() if value}


def is_local(path: Location) -> bool:
    return isinstance(path, Path)


def is_storage_error(error: BaseException) -> bool:
    """Errors of a disk or store we cannot reach or may not write: the environment's fault, not a bug."""
    return isinstance(error, OSError) or type(error).__module__.startswith("botocore")


def make_parent(path: Location) -> None:
    """Folders exist only on local disks; on a store the key prefix is enough."""
    if is_local(path):
        path.parent.mkdir(parents=True, exist_ok=True)


def staged(path: Location) -> Location:
    """Where to write a file that must appear whole at `path`: a hidden temp file beside it on a local
    disk (renamed by `publish`), the path itself on a store (an upload appears only once complete)."""
    if not is_local(path):
        return path
    make_parent(path)
    return path.with_name(f".{path.name}.tmp")


def publish(staged_path: Location, path: Location) -> None:
    if staged_path != path:
        os.replace(staged_path, path)


def write_bytes(path: Location, data: bytes) -> None:
    tmp = staged(path)
    tmp.write_bytes(data)
    publish(tmp, path)


def remove_tree(path: Location) -> None:
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.fs.rm(path.path, recursive=True)

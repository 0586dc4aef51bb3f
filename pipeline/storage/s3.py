"""AWS S3 or any S3-compatible store (MinIO, Ceph, rclone...), through s3fs; credentials from botocore.

Credentials and endpoint are never in code or settings: botocore reads them from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION...), its config files or an
instance role. The DAG may fill the environment from an Airflow connection (`connection_env`), and DuckDB
gets a session secret made from the same variables (`duckdb_setup`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from upath import UPath

from pipeline.errors import UserError

if TYPE_CHECKING:
    import duckdb

# How delta-rs makes two writers' commits safe on this store: "etag" for MinIO, Cloudflare R2 and AWS S3
# (conditional writes); unset for stores that have none (rclone serve s3, some Ceph): commits are then
# serialised by the lake's commit lock.
CONDITIONAL_PUT = "NEWS_S3_CONDITIONAL_PUT"
# Read in modest blocks: s3fs would otherwise buffer up to 50 MB per open file and thread.
READ_BLOCK = 1 << 20


def fs_options(io_threads: int) -> dict[str, Any]:
    """s3fs's options, with a connection for each of the `io_threads` requests in flight at once."""
    return {
        # A run's files are written by other processes (shards, tasks on other machines): a cached listing
        # would hide them from the commit.
        "use_listings_cache": False,
        # botocore >= 1.36 adds checksums that S3-compatible servers (rclone, older MinIO, Ceph) do not all
        # implement; ask for them only where S3 requires them.
        "config_kwargs": {
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "max_pool_connections": io_threads,  # botocore's default is 10
        },
    }


class S3:
    def parse(self, text: str, io_threads: int) -> UPath:
        if not text.split("://", 1)[1].strip("/"):
            raise UserError(f"location {text!r} names no bucket")
        return UPath(text.rstrip("/"), **fs_options(io_threads))

    def walk(self, folder: UPath, onerror: Callable[[str, OSError], None] | None = None) -> dict[str, int | None]:
        # One listing of every key under the prefix; a store has no links, and "folders" are key prefixes.
        # A listing that fails fails the run (the store is unreachable): onerror has nothing to report.
        prefix = folder.path.rstrip("/") + "/"
        found = folder.fs.find(folder.path, detail=True)
        objects = {key.removeprefix(prefix): info["size"] for key, info in found.items()}
        hidden = {k for k in objects if any(part.startswith(".") for part in k.split("/")[:-1])}
        return {k: objects[k] for k in sorted(objects) if k and k not in hidden}

    def links_outside(self, path: UPath, folder: UPath) -> bool:
        return False

    def not_regular(self, path: UPath) -> str | None:
        return None  # every object is a plain sequence of bytes

    def fsencode(self, name: str) -> bytes:
        return name.encode("utf-8")  # keys are Unicode, sent as UTF-8

    def fsdecode(self, name: bytes) -> str:
        return name.decode("utf-8")

    def open(self, path: UPath, size: int | None) -> BinaryIO:
        # With the listed size, opening costs no HEAD request: one GET per article.
        return path.fs.open(path.path, "rb", block_size=READ_BLOCK, size=size)

    def read_at_most(self, path: UPath, limit: int) -> bytes:
        return path.fs.cat_file(path.path, start=0, end=limit)  # one ranged GET

    def arrow_target(self, path: UPath) -> dict[str, Any]:
        return {"where": path.path, "filesystem": path.fs}

    def staged(self, path: UPath) -> UPath:
        return path  # an upload appears only once complete

    def publish(self, staged: UPath, path: UPath) -> None:
        """Nothing left to do: the object appeared whole when its upload completed."""

    def remove_tree(self, path: UPath) -> None:
        if path.exists():
            path.fs.rm(path.path, recursive=True)

    def delta_options(self) -> dict[str, str]:
        """delta-rs reads the same AWS_* variables as botocore; these say what it cannot know by itself."""
        env = os.environ
        options = {"AWS_ALLOW_HTTP": "true"} if env.get("AWS_ENDPOINT_URL", "").startswith("http://") else {}
        if env.get(CONDITIONAL_PUT):
            return options | {"conditional_put": env[CONDITIONAL_PUT]}
        return options | {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}  # safe: commits are serialised (see below)

    def serialises_commits(self) -> bool:
        return not os.environ.get(CONDITIONAL_PUT)

    def duckdb_setup(self, env: Mapping[str, str], in_shell: bool = False) -> list[str]:
        """DuckDB's httpfs extension from its PyPI package (matching DuckDB's version: DuckDB's own download
        site is not needed), and a session secret from env. Nothing is stored in the database file."""
        return [
            f"load {sql_literal(str(httpfs_extension()))}",
            f"create or replace temporary secret news_lake ({secret_options(env, by_name=in_shell)})",
        ]

    def prepare_duckdb(self, con: duckdb.DuckDBPyConnection, env: Mapping[str, str]) -> None:
        for statement in self.duckdb_setup(env):
            con.execute(statement)


def httpfs_extension() -> Path:
    """The httpfs build of the duckdb-extension-httpfs package, for this DuckDB release (the `duckdb` shell is
    pinned to the same one in pyproject.toml)."""
    import duckdb
    import duckdb_extension_httpfs

    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return folder / "httpfs.duckdb_extension"


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


def secret_options(env: Mapping[str, str], by_name: bool = False) -> str:
    """DuckDB's S3 secret, from the AWS_* variables: credentials, region, and an S3-compatible endpoint.

    by_name: the credentials as `getenv('AWS_...')` calls instead of their values. Only the `duckdb` shell has
    getenv; it reads them from its own environment, so they sit in no file and on no command line.
    """
    options = {"type": "'s3'"}
    credentials = {
        "key_id": "AWS_ACCESS_KEY_ID",
        "secret": "AWS_SECRET_ACCESS_KEY",
        "session_token": "AWS_SESSION_TOKEN",
    }
    for option, variable in credentials.items():
        if env.get(variable):
            options[option] = f"getenv('{variable}')" if by_name else sql_literal(env[variable])
    options["region"] = sql_literal(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")
    if env.get("AWS_ENDPOINT_URL"):
        endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
        options["endpoint"] = sql_literal(endpoint.netloc)
        options["use_ssl"] = sql_literal(endpoint.scheme == "https")
        options["url_style"] = "'path'"  # S3-compatible servers rarely have per-bucket host names
    return ", ".join(f"{key} {value}" for key, value in options.items())


def sql_literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "'" + value.replace("'", "''") + "'"

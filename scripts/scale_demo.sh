#!/usr/bin/env bash
# `make scale-demo`: the nightly DAG on a small Airflow cluster on this machine, as it would run spread over
# several: PostgreSQL as the metadata database, Redis as the Celery broker and result backend, the scheduler,
# dag-processor and api-server, and two Celery workers that report distinct hostnames. It runs `news_nightly`
# for one date, prints which host ran which task, then stops everything it started and leaves the lake.
#   SCALE_DATE                date to process (default 2026-11-24), read from NEWS_RAW_ROOT (default ./samples/raw)
#   SCALE_EXECUTOR            CeleryExecutor (default) or LocalExecutor (the baseline: same database, no workers,
#                             the scheduler runs the tasks)
#   NEWS_DATA_ROOT            lake, DuckDB file and this script's Airflow home and logs (default ./data/scale)
#   NEWS_FILES_PER_SHARD      files per mapped `extract` task (default 3: the sample date makes 5 shards)
#   SCALE_WORKER_CONCURRENCY  task slots per Celery worker (default 2, so no worker can take every shard)
#   SCALE_TIMEOUT             seconds to wait for the DAG run (default 600)
#   SCALE_KEEP_RUNNING        1: after the run, keep everything up (URL and password printed) until Ctrl-C
#   SCALE_STORAGE             local (default) or s3: landing folder and lake on an S3 server (`rclone serve s3`
#                             over $NEWS_DATA_ROOT/s3), its credentials in an Airflow connection made through
#                             the REST API, so the workers share no disk at all
# Needs root the first time (apt-get install postgresql redis-server) and for the workers' hostnames (a UTS
# namespace each). Output: $NEWS_DATA_ROOT/lake, news.duckdb, and cluster/ (component logs, airflow home,
# task-instances.json: the REST API's task instances of the run).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export PATH="$repo/.venv/bin:$PATH" # every component and task runs from the project's venv (spaCy model included)
export NEWS_DATA_ROOT="$(realpath -m "${NEWS_DATA_ROOT:-data/scale}")"
export NEWS_RAW_ROOT="$(realpath -m "${NEWS_RAW_ROOT:-samples/raw}")"
export NEWS_FILES_PER_SHARD="${NEWS_FILES_PER_SHARD:-3}"
day="${SCALE_DATE:-2026-11-24}"
executor="${SCALE_EXECUTOR:-CeleryExecutor}"
concurrency="${SCALE_WORKER_CONCURRENCY:-2}"
storage="${SCALE_STORAGE:-local}"
timeout="${SCALE_TIMEOUT:-600}"
out="$NEWS_DATA_ROOT/cluster"
export AIRFLOW_HOME="$out/airflow"
case "$executor" in CeleryExecutor | LocalExecutor) ;; *) echo "SCALE_EXECUTOR: CeleryExecutor or LocalExecutor" >&2; exit 2 ;; esac
case "$storage" in local | s3) ;; *) echo "SCALE_STORAGE: local or s3" >&2; exit 2 ;; esac
[ -d "$NEWS_RAW_ROOT/$day" ] || { echo "no landing folder $NEWS_RAW_ROOT/$day" >&2; exit 2; }
# Each worker's hostname comes from a UTS namespace of its own: root can make one; anyone else needs a user
# namespace around it (where the kernel allows them).
if [ "$(id -u)" = 0 ]; then uts=(unshare --uts --fork); else uts=(unshare --user --map-root-user --uts --fork); fi
if [ "$executor" = CeleryExecutor ] && ! "${uts[@]}" true 2>/dev/null; then
  echo "cannot create UTS namespaces for the workers' hostnames: run as root (or SCALE_EXECUTOR=LocalExecutor)" >&2
  exit 2
fi

say() { echo "[scale $(date +%H:%M:%S)] $*"; }
fail() {
  echo "[scale] FAILED: $*" >&2
  for log in "$out"/*.log "$state"/*.log; do
    [ -f "$log" ] || continue
    echo "----- last lines of $log" >&2
    tail -n 25 "$log" >&2
  done
  exit 1
}

# --- PostgreSQL and Redis from Debian's packages (installed like `make browser` does: as root, when missing)
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$pg_bin" ] || ! command -v redis-server >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "needs postgresql and redis-server: apt-get install them, or run as root" >&2; exit 2; }
  say "installing postgresql and redis-server (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port="$(free_port)" redis_port="$(free_port)" api_port="$(free_port)" s3_port="$(free_port)"
secret() { python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }

rm -rf "$out" && mkdir -p "$AIRFLOW_HOME"
# The database files live outside the data root: the `postgres` user must reach them, and they are thrown
# away at the end (the metadata of a demo run is not worth keeping; the lake is).
state="$(mktemp -d /tmp/news-scale.XXXXXX)" # mode 700: only its owner (and root) can reach the socket
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pids=() names=()
start() { # start NAME COMMAND...: in its own process group (so stopping it reaches its children), log in $out
  local name=$1
  shift
  setsid "$@" >"$out/$name.log" 2>&1 &
  pids+=("$!") names+=("$name")
}
stop_groups() { # stop_groups INDEX...: SIGTERM to those components' process groups, SIGKILL after 30 s
  local i alive # (a Celery worker first finishes the tasks it is running: its warm shutdown)
  for i; do kill -TERM -- "-${pids[i]}" 2>/dev/null || true; done
  for _ in $(seq 60); do
    alive=0
    for i; do kill -0 -- "-${pids[i]}" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0 # (a bare `return` in the EXIT trap would return the exit status)
    sleep 0.5
  done
  for i; do kill -KILL -- "-${pids[i]}" 2>/dev/null && echo "[scale] ${names[i]} did not stop in 30 s: killed"; done
  return 0
}
stop_all() { # the workers (their tasks may still report to the api-server), the other Airflow parts, Redis, PostgreSQL
  local i workers=() others=() redis=()
  for i in "${!pids[@]}"; do
    case "${names[i]}" in worker-*) workers+=("$i") ;; redis) redis+=("$i") ;; *) others+=("$i") ;; esac
  done
  stop_groups "${workers[@]}"
  stop_groups "${others[@]}"
  stop_groups "${redis[@]}"
  if [ -f "$state/pg/postmaster.pid" ]; then as_postgres "$pg_bin/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null || true; fi
  cp "$state/postgres.log" "$out/" 2>/dev/null || true
  rm -rf "$state"
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e # stop what can be stopped, whatever fails
  say "stopping everything this script started"
  stop_all
  [ -z "${sleeper:-}" ] || kill "$sleeper" 2>/dev/null # SCALE_KEEP_RUNNING's sleep would outlive the script
  if [ "$status" = 0 ]; then say "done: lake in ${NEWS_LAKE:-$NEWS_DATA_ROOT/lake}, logs in $out"; else say "logs in $out"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "PostgreSQL ($pg_bin) on a unix socket in $state/sock (port $pg_port), no TCP"
mkdir -p "$state/sock"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$state"; fi
# trust: the socket is in a private folder and the cluster lives for this run only
as_postgres "$pg_bin/initdb" -D "$state/pg" -U airflow --auth=trust -E UTF8 >"$out/postgres-initdb.log" 2>&1 ||
  fail "initdb"
as_postgres "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/postgres.log" -w \
  -o "-p $pg_port -k $state/sock -c listen_addresses=''" start >/dev/null || fail "postgres did not start"
as_postgres "$pg_bin/createdb" -h "$state/sock" -p "$pg_port" -U airflow airflow || fail "createdb"

if [ "$executor" = CeleryExecutor ]; then
  say "Redis on 127.0.0.1:$redis_port (no persistence)"
  start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
  redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG || fail "redis did not start"
fi

s3_endpoint="" s3_key="" s3_secret="" # the store, when the data is on S3
if [ "$storage" = s3 ]; then
  served="$NEWS_DATA_ROOT/s3" s3_endpoint="http://127.0.0.1:$s3_port" s3_key="news-demo" s3_secret="$(secret)"
  say "S3 server (rclone serve s3) on 127.0.0.1:$s3_port over $served; landing folder copied into s3://news/raw"
  rm -rf "$served/news/raw" && mkdir -p "$served/news/raw" && cp -r "$NEWS_RAW_ROOT/$day" "$served/news/raw/"
  start s3 rclone serve s3 "$served" --addr "127.0.0.1:$s3_port" --auth-key "$s3_key,$s3_secret"
  for _ in $(seq 50); do curl -s "$s3_endpoint" >/dev/null && break; sleep 0.2; done
  export NEWS_RAW_ROOT="s3://news/raw" NEWS_LAKE="s3://news/lake" NEWS_STORAGE_CONN_ID="news_demo_s3"  # its files: $served/news/lake
fi

# --- One Airflow configuration for every component, by environment (as in scripts/airflow.sh)
export AIRFLOW__CORE__EXECUTOR="$executor"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow@/airflow?host=$state/sock&port=$pg_port"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$redis_port/0"
# Task states come back through Redis too, so the workers need no database credentials at all (Airflow
# logs a warning recommending a database result backend; Redis is one of Celery's standard ones).
export AIRFLOW__CELERY__RESULT_BACKEND="redis://127.0.0.1:$redis_port/1"
# Shared secrets: the scheduler signs each task's token and the api-server checks it; they must agree.
export AIRFLOW__API_AUTH__JWT_SECRET="$(secret)" AIRFLOW__API__SECRET_KEY="$(secret)" AIRFLOW__CORE__FERNET_KEY="$(secret)"
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT="$api_port" AIRFLOW__API__BASE_URL="http://localhost:$api_port"
# Tasks (on the workers) talk to the execution API of this api-server, never to the database.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$api_port/execution/"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$(free_port)" AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$(free_port)"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5

say "airflow db migrate (PostgreSQL)"
airflow db migrate >"$out/db-migrate.log" 2>&1 || fail "airflow db migrate"

say "starting the api-server (http://localhost:$api_port), scheduler and dag-processor; executor: $executor"
start api-server airflow api-server --port "$api_port" --host 127.0.0.1 --workers 1
start scheduler airflow scheduler
start dag-processor airflow dag-processor

workers=()
if [ "$executor" = CeleryExecutor ]; then
  # Each worker gets its own UTS namespace, so its hostname (recorded in every task instance it runs, and its
  # Celery node name) is its own, as on separate machines. The database URL it gets leads nowhere on purpose:
  # a worker reads no metadata, its tasks use the execution API (the only trace is a warning at start that
  # the CLI could not record the command in the database's log table). No log server: the task logs are
  # written to the shared $AIRFLOW_HOME/logs, which the api-server reads, and Airflow's log server would
  # listen on every interface.
  no_db="postgresql+psycopg2://workers-use-no-database@/none?host=/nonexistent"
  for i in 1 2; do
    host="news-worker-$i"
    workers+=("$host")
    start "worker-$i" env AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$no_db" "${uts[@]}" \
      sh -c 'hostname "$1" && exec airflow celery worker --concurrency "$2" --skip-serve-logs' sh "$host" "$concurrency"
  done
  say "two Celery workers (${workers[*]}), $concurrency task slots each; waiting until both are ready"
  for _ in $(seq 120); do
    ready=0
    for i in 1 2; do grep -q "ready\." "$out/worker-$i.log" && ready=$((ready + 1)); done
    [ "$ready" = 2 ] && break
    for i in "${!pids[@]}"; do kill -0 "${pids[i]}" 2>/dev/null || fail "${names[i]} exited"; done
    sleep 1
  done
  [ "$ready" = 2 ] || fail "the Celery workers did not get ready in 120 s"
fi

api() { python3 scripts/airflow_api.py --url "http://localhost:$api_port" "$@"; } # the REST client (JSON in Python)
say "waiting for the api-server, a healthy scheduler and dag-processor, and news_nightly parsed"
api wait-ready --dag news_nightly --timeout 180 || fail "Airflow did not get ready"
if [ "$storage" = s3 ]; then # stored in the metadata database; tasks get it through the api-server
  # The credentials go by environment, not argv (which `ps` shows).
  CONNECTION_LOGIN="$s3_key" CONNECTION_PASSWORD="$s3_secret" \
    api add-connection "$NEWS_STORAGE_CONN_ID" --type aws --extra "{\"endpoint_url\": \"$s3_endpoint\"}" ||
    fail "could not create the Airflow connection"
fi
say "running news_nightly for $day from $NEWS_RAW_ROOT/$day ($NEWS_FILES_PER_SHARD files per shard)"
# force: analyse every file again, so a rerun into the same data root spreads the shards over the workers
# too (otherwise it takes unchanged files over from the previous run and has little left to distribute).
api run news_nightly --conf "{\"date\": \"$day\", \"force\": true}" --timeout "$timeout" \
  --task-instances "$out/task-instances.json" || fail "the DAG run did not succeed (see above)"
say "task instances saved in $out/task-instances.json"
if [ "$storage" = s3 ]; then export AWS_ACCESS_KEY_ID="$s3_key" AWS_SECRET_ACCESS_KEY="$s3_secret" AWS_ENDPOINT_URL="$s3_endpoint"; fi
news-etl sql "select date, files_seen, documents, duplicates, rejects, shards from runs where is_current and date = '$day'"

if [ "${SCALE_KEEP_RUNNING:-}" = 1 ]; then
  say "still running: http://localhost:$api_port, admin / $(api password); Ctrl-C stops it"
  while :; do sleep 3600 & sleeper=$! && wait $sleeper; done # `wait` returns on a signal: the trap runs at once
fi

#!/usr/bin/env bash
# `make airflow`: Airflow 3 for this project in the foreground (scheduler, dag-processor, triggerer and
# api-server via `airflow standalone`; LocalExecutor, SQLite metadata). Ctrl-C stops every part.
# `scripts/airflow.sh password` (`make airflow-password`): print the URL and the admin password again.
#   NEWS_DATA_ROOT      data root (default ./data); AIRFLOW_HOME defaults to $NEWS_DATA_ROOT/airflow
#   AIRFLOW_PORT        UI/API port (default 8080; log servers use the next two); AIRFLOW_HOST bind address
#                       (default 127.0.0.1: the UI is not opened to the network unless you say so)
#   AIRFLOW_STOP_GRACE  seconds the parts get to stop after Ctrl-C before they are killed (default 15)
# The api-server's access log goes to $AIRFLOW_HOME/logs/api-server-access.log, everything else to the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" # standalone starts its parts as `airflow ...` from PATH
export NEWS_DATA_ROOT="$(realpath -m "${NEWS_DATA_ROOT:-data}")"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$NEWS_DATA_ROOT/airflow}"
port="${AIRFLOW_PORT:-8080}"
host="${AIRFLOW_HOST:-127.0.0.1}"
grace="${AIRFLOW_STOP_GRACE:-15}"
passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
access_log="$AIRFLOW_HOME/logs/api-server-access.log"
url_file="$AIRFLOW_HOME/ui-url" # where the running instance listens, for `password`

banner() {
  local url
  url="$(cat "$url_file" 2>/dev/null || echo "http://localhost:$port")"
  echo "================================================================"
  echo " news-etl Airflow UI: $url"
  echo " log in as admin, password: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$passwords")"
  echo " (passwords file: $passwords)"
  echo " access log: $access_log"
  echo " stop: Ctrl-C here; this again: make airflow-password"
  echo "================================================================"
}

if [ "${1:-}" = password ]; then
  [ -s "$passwords" ] || { echo "no password yet in $passwords: start \`make airflow\` first" >&2; exit 1; }
  banner
  curl -fs "$(cat "$url_file" 2>/dev/null)/api/v2/monitor/health" >/dev/null 2>&1 ||
    echo "(nothing answers there now: is \`make airflow\` running?)"
  exit 0
fi

export AIRFLOW__API__HOST="$host"
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__BASE_URL="http://localhost:$port"
# Task processes report to the execution API on this port, not to whatever listens on 8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$port/execution/"
# The task and triggerer log servers follow the port too, so two instances can run side by side.
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-$((port + 1))}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT:-$((port + 2))}"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-True}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
mkdir -p "$AIRFLOW_HOME/logs"
echo "$AIRFLOW__API__BASE_URL" >"$url_file"

# Every process Airflow starts stays in the session `setsid` gives standalone (task processes get process
# groups of their own, in the same session), so stopping signals each group of that session.
session_groups() { ps -o pgid=,stat= -s "$airflow" 2>/dev/null | awk '$2 !~ /^Z/ {print $1}' | sort -u || true; }
signal_session() { for group in $(session_groups); do kill "-$1" -- "-$group" 2>/dev/null || true; done; }
stop() {
  set +e # a part already gone is no reason to leave the others
  trap - EXIT
  trap 'signal_session KILL' INT TERM # a second Ctrl-C does not wait
  [ -z "${watcher:-}" ] || kill "$watcher" 2>/dev/null
  [ -n "${airflow:-}" ] || return 0
  echo "stopping Airflow (SIGTERM; SIGKILL to what is left after ${grace} s)" >&2
  signal_session TERM
  for _ in $(seq $((grace * 5))); do
    [ -z "$(session_groups)" ] && break
    sleep 0.2
  done
  if [ -n "$(session_groups)" ]; then
    echo "killing what did not stop: $(ps -o comm= -s "$airflow" | sort | uniq -c | xargs)" >&2
    signal_session KILL
  fi
  wait 2>/dev/null || true
  echo "Airflow stopped" >&2
}
trap stop EXIT
trap 'exit 130' INT TERM

# Access-log lines to their file, the rest to the terminal. The filter ignores Ctrl-C and SIGTERM so that the
# parts' last words still show while they stop; it ends when the last of them closes its output.
PYTHONUNBUFFERED=1 setsid airflow standalone > >(
  trap '' INT TERM
  exec awk -v file="$access_log" '/http\.access/ { print >> file; fflush(file); next } { print; fflush() }'
) 2>&1 &
airflow=$!

# The banner again once every part reports healthy, after the start-up logs (standalone waits 3 s too).
(
  healthy='import json, sys; h = json.load(sys.stdin); sys.exit(any(v.get("status") != "healthy" for v in h.values()))'
  for _ in $(seq 300); do
    if curl -fs "http://localhost:$port/api/v2/monitor/health" 2>/dev/null | python3 -c "$healthy" 2>/dev/null &&
      [ -s "$passwords" ]; then
      sleep 3
      banner
      exit 0
    fi
    sleep 1
  done
) &
watcher=$!
wait "$airflow"

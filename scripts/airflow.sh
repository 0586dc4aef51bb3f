#!/usr/bin/env bash
# `make airflow`: Airflow 3 for this project in the foreground (scheduler, dag-processor, triggerer and
# api-server via `airflow standalone`; LocalExecutor, SQLite metadata). Ctrl-C stops it.
#   NEWS_DATA_ROOT  data root (default ./data); AIRFLOW_HOME defaults to $NEWS_DATA_ROOT/airflow
#   AIRFLOW_PORT    UI/API port (default 8080; log servers use the next two); AIRFLOW_HOST bind address
#                   (default 127.0.0.1: the UI is not opened to the network unless you say so)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" # standalone starts its parts as `airflow ...` from PATH
export NEWS_DATA_ROOT="$(realpath -m "${NEWS_DATA_ROOT:-data}")"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$NEWS_DATA_ROOT/airflow}"
port="${AIRFLOW_PORT:-8080}"
host="${AIRFLOW_HOST:-127.0.0.1}"
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
mkdir -p "$AIRFLOW_HOME"

passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
(
  for _ in $(seq 120); do
    if curl -fs "http://localhost:$port/api/v2/monitor/health" >/dev/null 2>&1 && [ -s "$passwords" ]; then
      echo "================================================================"
      echo " news-etl Airflow UI: http://localhost:$port  (bound to $host)"
      echo " log in as admin, password: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$passwords")"
      echo " (passwords file: $passwords)"
      echo "================================================================"
      exit 0
    fi
    sleep 1
  done
) &
exec airflow standalone

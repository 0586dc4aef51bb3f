#!/usr/bin/env bash
# The demo: the real Airflow DAG (`airflow dags test`, SQLite metadata) over the sample corpus, one run
# per date, then a few rows from the DuckDB views. Usage: scripts/demo.sh DATE [DATE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export NEWS_DATA_ROOT="${NEWS_DATA_ROOT:-$PWD/data}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$NEWS_DATA_ROOT/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
mkdir -p "$AIRFLOW_HOME"

echo "== Airflow metadata database (SQLite) in $AIRFLOW_HOME"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }

for day in "$@"; do
  echo "== airflow dags test news_nightly for $day (log: $AIRFLOW_HOME/demo-$day.log)"
  if ! airflow dags test news_nightly -c "{\"date\": \"$day\"}" >"$AIRFLOW_HOME/demo-$day.log" 2>&1; then
    grep -E "error|Error" "$AIRFLOW_HOME/demo-$day.log" | tail -20
    exit 1
  fi
  grep -o "committed r[^ ]* for .*rejects" "$AIRFLOW_HOME/demo-$day.log" || true
done

sql() { echo; echo "news-etl sql \"$1\""; news-etl sql --format table "$1"; }
sql "select date, files_seen, documents, duplicates, rejects, model from runs where is_current order by date"
sql "select date, source_path, reason from rejects order by date"
sql "select date, title, dateline, encoding, duplicate_of, near_duplicate_cluster from documents where encoding <> 'utf-8' or near_duplicate_cluster is not null order by date, title"
sql "select canonical_key, any_value(canonical) as canonical, sum(mentions) as mentions, count(*) as days from entity_mentions_daily group by canonical_key order by mentions desc, canonical_key limit 10"
sql "select speaker, sum(quotes) as quotes, count(*) as days from quotes_by_speaker_daily group by speaker order by quotes desc, speaker limit 8"
sql "select entity_a, entity_b, documents from entity_cooccurrence order by documents desc, entity_a limit 8"
echo
echo "Database: $NEWS_DATA_ROOT/news.duckdb  (try: .venv/bin/duckdb $NEWS_DATA_ROOT/news.duckdb -c 'from documents limit 5')"

-- The definitions of the lake.<table> views of a DuckDB file attached as `probe`: each lists the lake files it
-- reads (sql/lake/current.sql), which vacuum must keep (pipeline/views.py, database_files).
select sql
from duckdb_views()
where database_name = 'probe' and schema_name = 'lake' and not internal

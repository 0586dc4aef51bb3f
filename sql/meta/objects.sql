-- Everything a DuckDB file attached as `probe` holds besides DuckDB's own entries: what decides whether
-- `news-etl views` may replace it (pipeline/views.py, not_ours: only views, in the schemas main and lake).
select 'schema' as kind, schema_name, schema_name as name
from duckdb_schemas() where database_name = 'probe' and not internal
union all
select 'view', schema_name, view_name from duckdb_views() where database_name = 'probe' and not internal
union all
select 'table', schema_name, table_name from duckdb_tables() where database_name = 'probe'
union all
select 'sequence', schema_name, sequence_name from duckdb_sequences() where database_name = 'probe'
union all
select 'index', schema_name, index_name from duckdb_indexes() where database_name = 'probe'
union all
select 'macro', schema_name, function_name from duckdb_functions() where database_name = 'probe' and not internal
union all
select 'type', schema_name, type_name from duckdb_types() where database_name = 'probe' and not internal

-- Every committed run, current or superseded: the job's history.
with source as (
    select *
    from read_parquet('$lake/runs/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        source.run_id,
        source.date,
        source.started_at,
        source.finished_at,
        source.files_seen,
        source.files_ignored,
        source.documents,
        source.duplicates,
        source.rejects,
        source.shards,
        source.model,
        source.pipeline_version,
        current_runs.run_id is not null as is_current
    from source
    left join current_runs on source.run_id = current_runs.run_id
)

select * from final

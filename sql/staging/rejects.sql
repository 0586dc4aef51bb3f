-- Input files that did not become documents, each with the reason.
with source as (
    select *
    from read_parquet('$lake/rejects/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        source_path,
        date,
        reason,
        n_bytes,
        content_sha256,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

-- One row per article file that decoded to text; exact duplicates carry the doc_id of their first copy.
with source as (
    select *
    from read_parquet('$lake/documents/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        doc_id,
        date,
        source_path,
        title,
        text,
        n_tokens,
        n_chars,
        n_bytes,
        content_sha256,
        encoding,
        duplicate_of,
        duplicate_of is not null as is_duplicate,
        model,
        pipeline_version,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

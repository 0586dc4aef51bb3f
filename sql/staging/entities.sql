-- Named entity mentions; canonical is the document-level name ("Hoffmann" -> "Clara Hoffmann").
with source as (
    select *
    from read_parquet('$lake/entities/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        doc_id,
        date,
        entity_idx,
        start_char,
        end_char,
        text,
        label,
        canonical,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

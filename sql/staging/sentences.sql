-- Sentence boundaries: text[start_char:end_char] of the document (Python indices; substr is 1-based).
with source as (
    select *
    from read_parquet('$lake/sentences/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        doc_id,
        date,
        sentence_idx,
        start_char,
        end_char,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

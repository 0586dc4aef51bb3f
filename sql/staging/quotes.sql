-- Direct quotations with their speaker; speaker_canonical is the document-level name ("he" -> "Clara Hoffmann").
with source as (
    select *
    from read_parquet('$lake/quotes/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        doc_id,
        date,
        quote_idx,
        start_char,
        end_char,
        text,
        speaker,
        speaker_start_char,
        speaker_end_char,
        speaker_canonical,
        cue,
        confidence,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

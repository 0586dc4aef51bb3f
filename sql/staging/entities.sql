-- Named entity mentions. label is the document-consistent label, model_label what spaCy said (null for
-- mentions found by propagating a name); canonical is the document-level name ("Hoffmann" -> "Clara Hoffmann"),
-- canonical_key its corpus-wide folded form ("U.S.", "US", "the United States" -> "united states").
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
        model_label,
        canonical,
        coalesce(canonical_key, lower(canonical)) as canonical_key,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

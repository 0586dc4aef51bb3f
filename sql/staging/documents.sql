-- One row per article file that decoded to text; exact duplicates carry the doc_id of their first copy.
-- near_duplicate_cluster: the cluster_id of its near-duplicates (see near_duplicates), null if it has none.
-- is_analysed: run through spaCy (false for exact duplicates and for text not in the model's language).
with source as (
    select *
    from read_parquet('$lake/documents/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

clusters as (
    select doc_id, cluster_id from near_duplicates
),

current_documents as (
    select * from source
    semi join current_runs using (run_id)
),

final as (
    select
        doc_id,
        date,
        source_path,
        title,
        dateline,
        dateline_place,
        dateline_date,
        dateline_source,
        language,
        is_analysed,
        analysis_error,
        text,
        n_tokens,
        n_chars,
        n_bytes,
        content_sha256,
        encoding,
        duplicate_of,
        duplicate_of is not null as is_duplicate,
        clusters.cluster_id as near_duplicate_cluster,
        model,
        pipeline_version,
        run_id
    from current_documents
    left join clusters using (doc_id)
)

select * from final

-- One document, with its near-duplicates' cluster. Parameters: $doc_id.
with documents as (
    select * from main.documents
),

final as (
    select
        doc_id,
        date,
        source_path,
        title,
        dateline,
        language,
        is_analysed,
        analysis_error,
        text,
        n_tokens,
        is_duplicate,
        duplicate_of,
        near_duplicate_cluster
    from documents
    where doc_id = $doc_id
)

select * from final

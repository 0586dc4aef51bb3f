-- Documents, with what other tables say about each: is_duplicate (an exact copy of another document of the
-- date: see duplicate_of) and near_duplicate_cluster (the cluster_id of its near-duplicates, null if none).
-- Joined on the date too (a doc_id is one date's): a filter on date then prunes both sides' files.
with documents as (
    select * from lake.documents
),

clusters as (
    select doc_id, date, cluster_id from lake.near_duplicates
),

final as (
    select
        documents.*,
        documents.duplicate_of is not null as is_duplicate,
        clusters.cluster_id as near_duplicate_cluster
    from documents
    left join clusters on documents.doc_id = clusters.doc_id and documents.date = clusters.date
)

select * from final

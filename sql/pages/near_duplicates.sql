-- The other documents of a near-duplicate cluster. Parameters: $cluster_id, $doc_id.
with near as (
    select * from main.near_duplicates
),

documents as (
    select doc_id, title from main.documents
),

final as (
    select near.doc_id, documents.title, near.similarity
    from near
    inner join documents using (doc_id)
    where near.cluster_id = $cluster_id and near.doc_id != $doc_id
)

select * from final
order by similarity desc, doc_id

-- A few of the date's quotes, the surest speakers first, one per document. Every quotes column (q.*), so a
-- column added to the table reaches the page without a change here. Parameters: $day, $limit.
with quotes as (
    select * from main.quotes
    where date = $day and speaker is not null
),

documents as (
    select doc_id, title from main.documents
),

final as (
    select
        quotes.*,
        coalesce(quotes.speaker_canonical, quotes.speaker) as speaker_name,
        documents.title
    from quotes
    inner join documents using (doc_id)
    qualify row_number() over (partition by quotes.doc_id order by quotes.confidence desc, quotes.quote_idx) = 1
)

select * from final
order by confidence desc, length(text) desc, doc_id
limit $limit

-- A document's quotes with their speakers, in text order; every quotes column (q.*). Parameters: $doc_id.
with quotes as (
    select * from main.quotes
),

final as (
    select quotes.*
    from quotes
    where doc_id = $doc_id
)

select * from final
order by start_char, quote_idx

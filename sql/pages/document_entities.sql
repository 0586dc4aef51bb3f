-- A document's entity mentions, in text order. Parameters: $doc_id.
with entities as (
    select * from main.entities
),

final as (
    select entity_idx, start_char, end_char, text, label, canonical, canonical_key, is_name
    from entities
    where doc_id = $doc_id
)

select * from final
order by start_char, entity_idx

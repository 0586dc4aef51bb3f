-- Pairs of entities named in the same documents of a day, by canonical_key: entity_cooccurrence per date (sum
-- documents over a range of dates for the range's pairs). entity_a/entity_b are the most frequent names of each
-- key that day, as in entity_mentions_daily. The per-date entity_pairs rollup as it is (pipeline/rollups.py): a
-- filter on date reads only those dates' files.
with entity_pairs as (
    select * from main.entity_pairs
),

final as (
    select
        date,
        key_a,
        key_b,
        entity_a,
        entity_b,
        documents,
        example_doc_id
    from entity_pairs
)

select * from final

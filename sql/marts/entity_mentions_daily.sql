-- How often each entity is mentioned per day, counted by canonical_key (one entity, not its spellings:
-- "US", "U.S." and "the United States" count together). canonical and label are the most frequent of the key's
-- names and labels that day (of equally frequent ones, the last in sort order, so the answer is stable).
-- Summed from the entity_mentions rollup each commit writes (pipeline/rollups.py): a few rows per key and date
-- instead of every mention, so a year reads in a fraction of a second.
with entity_mentions as (
    select * from main.entity_mentions
),

final as (
    select
        date,
        canonical_key,
        arg_max(canonical, (canonical_mentions, canonical)) as canonical,
        arg_max(label, (label_mentions, label)) as label,
        cast(sum(mentions) as bigint) as mentions,  -- count(*)'s type, as before
        max(key_documents) as documents
    from entity_mentions
    group by date, canonical_key
)

select * from final

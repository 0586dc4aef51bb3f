-- How often each entity is mentioned per day, counted by canonical_key (one entity, not its spellings:
-- "US", "U.S." and "the United States" count together). canonical and label are the most frequent of the key's
-- names and labels that day.
with entities as (
    select * from main.entities
),

named as (
    select *
    from entities
    where is_name
),

final as (
    select
        date,
        canonical_key,
        mode(canonical) as canonical,
        mode(label) as label,
        count(*) as mentions,
        count(distinct doc_id) as documents
    from named
    group by date, canonical_key
)

select * from final

-- One date's named-entity mentions per canonical_key, spelling and label (the commit runs it over the run's
-- entities: pipeline/rollups.py). The per-key sums ride along on every row of the key, so that
-- entity_mentions_daily is one group-by: the most frequent spelling is
-- arg_max(canonical, (canonical_mentions, canonical)).
with entities as (
    select * from entities
),

named as (
    select *
    from entities
    where label in ($name_labels)
),

spellings as (
    select
        canonical_key,
        canonical,
        label,
        count(*) as mentions
    from named
    group by canonical_key, canonical, label
),

keys as (
    select
        canonical_key,
        count(distinct doc_id) as key_documents
    from named
    group by canonical_key
),

final as (
    select
        spellings.canonical_key,
        spellings.canonical,
        spellings.label,
        spellings.mentions,
        sum(spellings.mentions) over (partition by spellings.canonical_key, spellings.canonical) as canonical_mentions,
        sum(spellings.mentions) over (partition by spellings.canonical_key, spellings.label) as label_mentions,
        keys.key_documents
    from spellings
    inner join keys on spellings.canonical_key is not distinct from keys.canonical_key
    order by spellings.canonical_key, spellings.canonical, spellings.label
)

select * from final

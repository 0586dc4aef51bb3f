-- severity: error
-- description: the rollups sum the date's entities: mentions, keys and documents per key as entities counts them
-- The entity marts read the rollups (pipeline/rollups.py), not the mentions. A date committed before the rollup
-- tables existed has none: `news-etl maintain` (or the date's next run) writes them.
with named as (
    select
        doc_id,
        canonical_key
    from main.entities
    where date = $date and is_name
),

counted as (
    select
        (select count(*) from named) as mentions,
        (select count(distinct canonical_key) from named) as keys,
        (select count(*) from (select distinct doc_id, canonical_key from named)) as key_documents
),

rolled as (
    select
        coalesce(sum(mentions), 0) as mentions,
        count(distinct canonical_key) as keys,
        (
            select coalesce(sum(key_documents), 0)
            from (select distinct canonical_key, key_documents from lake.entity_mentions where date = $date)
        ) as key_documents,
        count(*) as n_rows
    from lake.entity_mentions
    where date = $date
),

final as (
    select
        format(
            '{} mentions, {} keys, {} (document, key) in entity_mentions',
            rolled.mentions,
            rolled.keys,
            rolled.key_documents
        ) as observed,
        format(
            '{} mentions, {} keys, {} (document, key) as entities counts them',
            counted.mentions,
            counted.keys,
            counted.key_documents
        ) as expected,
        if(
            rolled.n_rows = 0 and counted.mentions > 0,
            'no rollups for the date (committed before them?): `news-etl maintain` writes them',
            'entity_mentions does not sum the date''s entities'
        ) as message
    from counted
    cross join rolled
    where
        rolled.mentions != counted.mentions
        or rolled.keys != counted.keys
        or rolled.key_documents != counted.key_documents
)

select * from final

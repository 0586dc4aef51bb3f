-- One date's pairs of named entities (by canonical_key) that the same documents name, with each key's most
-- frequent spelling that date (the commit runs it over the run's entities: pipeline/rollups.py). A document is
-- one date's, so summing documents over dates counts each document once, and min(example_doc_id) over dates is
-- the smallest doc_id of them all.
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
        count(*) as mentions
    from named
    group by canonical_key, canonical
),

names as (
    select
        canonical_key,
        arg_max(canonical, (mentions, canonical)) as canonical
    from spellings
    group by canonical_key
),

doc_entities as (
    select distinct
        doc_id,
        canonical_key
    from named
),

pairs as (
    select
        a.canonical_key as key_a,
        b.canonical_key as key_b,
        count(*) as documents,
        min(a.doc_id) as example_doc_id
    from doc_entities as a
    inner join doc_entities as b
        on a.doc_id = b.doc_id and a.canonical_key < b.canonical_key
    group by a.canonical_key, b.canonical_key
),

final as (
    select
        pairs.key_a,
        pairs.key_b,
        name_a.canonical as entity_a,
        name_b.canonical as entity_b,
        pairs.documents,
        pairs.example_doc_id
    from pairs
    inner join names as name_a on pairs.key_a = name_a.canonical_key
    inner join names as name_b on pairs.key_b = name_b.canonical_key
    order by pairs.key_a, pairs.key_b
)

select * from final

-- Pairs of entities named in the same documents, by canonical_key, with how many documents name both.
-- entity_a/entity_b are the most frequent names of each key.
with entities as (
    select * from main.entities
),

named as (
    select *
    from entities
    where is_name
),

names as (
    select
        canonical_key,
        mode(canonical) as canonical
    from named
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
)

select * from final

-- Pairs of entities named in the same documents, with how many documents name both.
with entities as (
    select * from entities
),

doc_entities as (
    select distinct
        doc_id,
        canonical
    from entities
    where label in ('PERSON', 'ORG', 'GPE', 'LOC', 'NORP', 'FAC', 'PRODUCT', 'EVENT', 'WORK_OF_ART', 'LAW')
),

final as (
    select
        a.canonical as entity_a,
        b.canonical as entity_b,
        count(*) as documents,
        min(a.doc_id) as example_doc_id
    from doc_entities as a
    inner join doc_entities as b
        on a.doc_id = b.doc_id and a.canonical < b.canonical
    group by a.canonical, b.canonical
)

select * from final

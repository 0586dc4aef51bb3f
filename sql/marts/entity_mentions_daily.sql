-- How often each entity is mentioned per day, counted by canonical name (people, not spellings).
with entities as (
    select * from entities
),

named as (
    select *
    from entities
    where label in ('PERSON', 'ORG', 'GPE', 'LOC', 'NORP', 'FAC', 'PRODUCT', 'EVENT', 'WORK_OF_ART', 'LAW')
),

final as (
    select
        date,
        canonical,
        label,
        count(*) as mentions,
        count(distinct doc_id) as documents
    from named
    group by date, canonical, label
)

select * from final

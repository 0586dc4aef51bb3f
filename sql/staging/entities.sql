-- Entity mentions, with is_name: whether the label names something (PERSON, ORG, GPE...), as opposed to
-- numbers, dates and amounts. The labels come from pipeline/extract/entities.py (NAME_LABELS).
with entities as (
    select * from lake.entities
),

final as (
    select
        entities.*,
        entities.label in ($name_labels) as is_name
    from entities
)

select * from final

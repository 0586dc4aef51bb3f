-- Quotations, direct and indirect (reported speech). Rows written before the kind column existed were all
-- direct quotations: their null kind reads as 'direct', so the marts count every release's rows alike.
with quotes as (
    select * from lake.quotes
),

final as (
    select * replace (coalesce(quotes.kind, 'direct') as kind)
    from quotes
)

select * from final

-- The most-mentioned names from $since to $until, with their mentions per date (for sparklines).
-- Parameters: $since, $until, $limit.
with daily as (
    select * from main.entity_mentions_daily
    where date between $since and $until
),

totals as (
    select
        canonical_key,
        mode(canonical) as canonical,
        mode(label) as label,
        sum(mentions) as mentions,
        sum(documents) as documents
    from daily
    group by canonical_key
    order by mentions desc, documents desc, canonical_key
    limit $limit
),

final as (
    select
        totals.*,
        list(struct_pack(date := daily.date, mentions := daily.mentions) order by daily.date) as series
    from totals
    inner join daily using (canonical_key)
    group by all
)

select * from final
order by mentions desc, documents desc, canonical_key

-- The date's most-mentioned names, with their daily mean over the trailing week (the 7 dates before it;
-- dates without mentions count as zero). Parameters: $day, $limit.
with daily as (
    select * from main.entity_mentions_daily
),

today as (
    select canonical_key, canonical, label, mentions, documents
    from daily
    where date = $day
),

past_week as (
    select
        canonical_key,
        sum(mentions) / 7.0 as trailing_mean
    from daily
    where date >= $day::date - 7 and date < $day::date
    group by canonical_key
),

final as (
    select
        today.*,
        coalesce(past_week.trailing_mean, 0) as trailing_mean,
        today.mentions - coalesce(past_week.trailing_mean, 0) as change
    from today
    left join past_week using (canonical_key)
)

select * from final
order by mentions desc, documents desc, canonical_key
limit $limit

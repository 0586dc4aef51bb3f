-- severity: warn
-- description: entities per 1,000 tokens stayed near the median of the dates before it
-- Extraction drift: a model or extractor change, or text that is not news, shows as a rate far from the usual one.
-- Warns when the date's rate differs from the median over up to history_dates committed dates before by more than
-- the fraction drift of it (NEWS_CHECK_DRIFT: 0.5 = half).
with tokens as (
    select
        date,
        sum(n_tokens) as tokens
    from lake.documents
    where date in $window and is_analysed
    group by date
),

entities as (
    select
        date,
        count(*) as entities
    from lake.entities
    where date in $window
    group by date
),

series as (
    select
        tokens.date,
        1000 * coalesce(entities.entities, 0) / tokens.tokens as value
    from tokens
    left join entities on tokens.date = entities.date
    where tokens.tokens > 0
),

baseline as ($baseline),

final as (
    select
        format('{:.1f} entities per 1,000 tokens', today.value) as observed,
        format('{:.1f} to {:.1f}', (1 - $drift) * median_value, (1 + $drift) * median_value) as expected,
        format(
            '{:.1f} entities per 1,000 tokens, against a median of {:.1f} on the {} dates before',
            today.value,
            median_value,
            n_dates
        ) as message
    from series as today
    cross join baseline
    where today.date = $date and n_dates > 0 and median_value > 0 and abs(today.value / median_value - 1) > $drift
)

select * from final

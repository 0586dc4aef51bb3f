-- severity: warn
-- description: quotes per analysed document stayed near the median of the dates before it
-- Extraction drift, as drift_entities: warns when the date's quotes per analysed document differ from the median
-- over up to history_dates committed dates before by more than the fraction drift of it (NEWS_CHECK_DRIFT).
with analysed as (
    select
        date,
        count(*) as documents
    from lake.documents
    where date in $window and is_analysed
    group by date
),

quotes as (
    select
        date,
        count(*) as quotes
    from lake.quotes
    where date in $window
    group by date
),

series as (
    select
        analysed.date,
        coalesce(quotes.quotes, 0) / analysed.documents as value
    from analysed
    left join quotes on analysed.date = quotes.date
),

baseline as ($baseline),

final as (
    select
        format('{:.2f} quotes per document', today.value) as observed,
        format('{:.2f} to {:.2f}', (1 - $drift) * median_value, (1 + $drift) * median_value) as expected,
        format(
            '{:.2f} quotes per analysed document, against a median of {:.2f} on the {} dates before',
            today.value,
            median_value,
            n_dates
        ) as message
    from series as today
    cross join baseline
    where today.date = $date and n_dates > 0 and median_value > 0 and abs(today.value / median_value - 1) > $drift
)

select * from final

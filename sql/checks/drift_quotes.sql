-- severity: warn
-- description: quotes per analysed document stayed near the median of the dates before it, per kind
-- Extraction drift, as drift_entities: warns when the date's quotes of a kind (direct, indirect) per analysed
-- document differ from the median over up to history_dates committed dates before by more than the fraction drift
-- of it (NEWS_CHECK_DRIFT). Each kind against its own history: rows from before the kind column are direct, and a
-- kind with no history yet (median 0) does not warn.
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
        coalesce(kind, 'direct') as kind,
        count(*) as quotes
    from lake.quotes
    where date in $window
    group by date, coalesce(kind, 'direct')
),

kinds as (
    select distinct kind from quotes
),

rates as (
    select
        analysed.date,
        kinds.kind,
        coalesce(quotes.quotes, 0) / analysed.documents as rate
    from analysed
    cross join kinds
    left join quotes on analysed.date = quotes.date and kinds.kind = quotes.kind
),

baseline as (
    select
        kind,
        median(rate) as median_rate,
        count(*) as n_dates
    from rates
    where date in $trailing
    group by kind
),

final as (
    select
        format('{:.2f} {} quotes per document', today.rate, today.kind) as observed,
        format('{:.2f} to {:.2f}', (1 - $drift) * median_rate, (1 + $drift) * median_rate) as expected,
        format(
            '{:.2f} {} quotes per analysed document, against a median of {:.2f} on the {} dates before',
            today.rate,
            today.kind,
            median_rate,
            n_dates
        ) as message
    from rates as today
    inner join baseline on today.kind = baseline.kind
    where today.date = $date and n_dates > 0 and median_rate > 0 and abs(today.rate / median_rate - 1) > $drift
)

select * from final

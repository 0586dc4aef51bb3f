-- severity: warn
-- description: the share of exact duplicates did not jump above the dates before it
-- A copy is a document whose bytes equal another file of the same date (duplicate_of) or a document of the
-- previous committed date: a feed that re-sends yesterday. Its share of the date's documents, against the median
-- of the same share over up to history_dates committed dates before; a rise of more than duplicate_jump
-- (NEWS_CHECK_DUPLICATE_JUMP, in share points) warns.
with dates as (
    select
        date,
        lag(date) over (order by date) as previous_date
    from main.current_runs
    where date in $window
),

documents as (
    select
        date,
        content_sha256,
        duplicate_of
    from lake.documents
    where date in $window
),

seen as (
    select distinct
        date,
        content_sha256
    from documents
),

copies as (
    select
        documents.date,
        count(*) as documents,
        count(*) filter (where documents.duplicate_of is not null or seen.content_sha256 is not null) as copies
    from documents
    inner join dates on documents.date = dates.date
    left join seen on seen.date = dates.previous_date and seen.content_sha256 = documents.content_sha256
    group by documents.date
),

series as (
    select
        *,
        copies / documents as value
    from copies
),

baseline as ($baseline),

final as (
    select
        format('{:.1f}% copies', 100 * today.value) as observed,
        format('at most {:.1f}%', 100 * (median_value + $duplicate_jump)) as expected,
        format(
            '{} of {} documents ({:.1f}%) are exact copies, of the same date or of the date before, against a median '
            || 'of {:.1f}% on the {} dates before',
            today.copies,
            today.documents,
            100 * today.value,
            100 * median_value,
            n_dates
        ) as message
    from series as today
    cross join baseline
    where today.date = $date and n_dates > 0 and today.value - median_value > $duplicate_jump
)

select * from final

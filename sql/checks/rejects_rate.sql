-- severity: error
-- description: at most reject_rate of the date's files were rejected
-- A night of binary junk or truncated uploads. Tuned by NEWS_CHECK_REJECT_RATE (a share, 0.1 = 10 %).
with runs as (
    select files_seen from main.runs
    where is_current and date = $date
),

rejects as (
    select reason from lake.rejects
    where date = $date
),

reasons as (
    select
        reason,
        count(*) as n
    from rejects
    group by reason
),

totals as (
    select
        (select count(*) from rejects) as rejects,
        (select string_agg(format('{} x "{}"', n, reason), ', ' order by n desc, reason) from reasons) as reasons
),

final as (
    select
        format('{} of {} files ({:.1f}%)', rejects, files_seen, 100 * rejects / files_seen) as observed,
        format('at most {:.1f}%', 100 * $reject_rate) as expected,
        format(
            '{} of {} files rejected ({:.1f}%, above {:.1f}%): {}',
            rejects,
            files_seen,
            100 * rejects / files_seen,
            100 * $reject_rate,
            reasons
        ) as message
    from runs
    cross join totals
    where files_seen > 0 and rejects > $reject_rate * files_seen
)

select * from final

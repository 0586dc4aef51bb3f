-- severity: warn
-- description: every reject reason of the date was seen on an earlier date
-- Reasons are compared with their numbers left out ("binary content: 12 control characters in 340" is the same
-- kind of reason whatever the counts). Passes on a lake's first date.
with rejects as (
    select
        date,
        source_path,
        reason,
        regexp_replace(reason, '[0-9]+', 'N', 'g') as kind
    from lake.rejects
    where date <= $date
),

earlier as (
    select distinct kind from rejects
    where date < $date
),

today as (
    select
        kind,
        count(*) as n,
        min(reason) as reason,
        min(source_path) as example
    from rejects
    where date = $date
    group by kind
),

final as (
    select
        format('"{}"', today.reason) as observed,
        'a reason seen on an earlier date' as expected,
        format('new reject reason "{}" ({} files, e.g. {})', today.reason, today.n, today.example) as message
    from today
    where
        today.kind not in (select kind from earlier)
        and exists (select 1 from main.current_runs where date < $date)
)

select * from final

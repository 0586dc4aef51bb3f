-- The data checks of the date's current run (failures first). Parameters: $day.
with checks as (
    select * from main.checks
),

final as (
    select
        check_name,
        severity,
        status,
        observed,
        expected,
        message
    from checks
    where date = $day and is_current
)

select * from final
order by case status when 'fail' then 0 when 'warn' then 1 else 2 end, check_name

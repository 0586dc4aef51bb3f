-- The date's rejected files, by reason. Parameters: $day.
with rejects as (
    select * from main.rejects
),

final as (
    select
        reason,
        count(*) as files
    from rejects
    where date = $day
    group by reason
)

select * from final
order by files desc, reason

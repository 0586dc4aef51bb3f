-- Who is quoted most from $since to $until (one date: both the same). Parameters: $since, $until, $limit.
with speakers as (
    select * from main.quotes_by_speaker_daily
    where date between $since and $until
),

final as (
    select
        speaker,
        bool_or(is_resolved) as is_resolved,
        sum(quotes) as quotes,
        sum(documents) as documents
    from speakers
    group by speaker
)

select * from final
order by quotes desc, documents desc, speaker
limit $limit

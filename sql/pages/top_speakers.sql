-- Who is quoted most from $since to $until (one date: both the same), both kinds of quote; a document that
-- quotes a speaker directly and reports their speech counts once. Parameters: $since, $until, $limit.
with quotes as (
    select * from main.speaker_quotes
    where date between $since and $until
),

final as (
    select
        speaker,
        count(*) as quotes,
        count(*) filter (where kind = 'direct') as direct,
        count(distinct doc_id) as documents
    from quotes
    group by speaker
)

select * from final
order by quotes desc, documents desc, speaker
limit $limit

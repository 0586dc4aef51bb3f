-- Who is quoted most, per day: quotes and documents per speaker (canonical name, else the mention as written)
-- and kind (direct quotations, indirect: reported speech). Sum over kind for everything a speaker said.
with quotes as (
    select * from main.quotes
),

attributed as (
    select
        quotes.date,
        quotes.doc_id,
        quotes.kind,
        coalesce(quotes.speaker_canonical, quotes.speaker) as speaker,
        quotes.speaker_canonical is not null as is_resolved
    from quotes
    where quotes.speaker is not null
),

final as (
    select
        date,
        speaker,
        kind,
        bool_or(is_resolved) as is_resolved,
        count(*) as quotes,
        count(distinct doc_id) as documents
    from attributed
    group by date, speaker, kind
)

select * from final

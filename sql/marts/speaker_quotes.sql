-- Each speaker's quotes, direct and indirect (kind), with the document they come from (title, date, file), newest
-- first within a speaker. Joined on the date too (a doc_id is one date's): a filter on date then prunes both sides'
-- files.
with quotes as (
    select * from main.quotes
),

documents as (
    select * from main.documents
),

final as (
    select
        coalesce(quotes.speaker_canonical, quotes.speaker) as speaker,
        quotes.speaker as speaker_mention,
        quotes.kind,
        quotes.text as quote,
        quotes.cue,
        quotes.confidence,
        quotes.date,
        documents.title,
        documents.source_path,
        quotes.doc_id,
        quotes.quote_idx,
        quotes.start_char,
        quotes.end_char
    from quotes
    inner join documents on quotes.doc_id = documents.doc_id and quotes.date = documents.date
    where quotes.speaker is not null
    order by speaker, quotes.date desc, quotes.doc_id, quotes.quote_idx
)

select * from final

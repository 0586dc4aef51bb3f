-- severity: error
-- description: every text span (entities, quotes, speakers) reproduces its text from the document
-- substr(text, start_char + 1, end_char - start_char) = the span's text, for every *start_char / *end_char pair a
-- table declares with its text (the offset_spans select, derived from the registry: pipeline/checks.py).
with spans as (
    $offset_spans
),

documents as (
    select
        doc_id,
        text
    from lake.documents
    where date = $date
),

wrong as (
    select
        spans.table_name,
        spans.span,
        spans.doc_id,
        spans.start_char,
        spans.span_text
    from spans
    inner join documents on spans.doc_id = documents.doc_id
    where
        spans.date = $date
        and substr(documents.text, spans.start_char + 1, spans.end_char - spans.start_char) is distinct from spans.span_text
),

final as (
    select
        format('{} spans', count(*)) as observed,
        'substr(text, start_char + 1, end_char - start_char) = the span''s text' as expected,
        format(
            '{}.{}: {} spans do not reproduce their text (first: {})',
            table_name,
            span,
            count(*),
            arg_min(format('document {} at {}, "{}"', doc_id, start_char, left(span_text, 60)), (doc_id, start_char))
        ) as message
    from wrong
    group by table_name, span
)

select * from final

-- severity: error
-- description: spaCy analysed every document it was given without an error
-- A document with analysis_error is kept, but without sentences, entities and quotes from the part that failed.
with failed as (
    select
        source_path,
        analysis_error
    from lake.documents
    where date = $date and analysis_error is not null
),

final as (
    select
        format('{} documents', count(*)) as observed,
        'none' as expected,
        format(
            'spaCy failed on {} documents (kept, without rows from the failed part); first: {}: {}',
            count(*),
            min(source_path),
            arg_min(analysis_error, source_path)
        ) as message
    from failed
    having count(*) > 0
)

select * from final

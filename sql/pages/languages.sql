-- The date's documents by language, exact duplicates left out. Parameters: $day.
with documents as (
    select * from main.documents
),

final as (
    select
        language,
        count(*) as documents
    from documents
    where date = $day and not is_duplicate
    group by language
)

select * from final
order by documents desc, language

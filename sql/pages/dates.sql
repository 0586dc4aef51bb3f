-- The committed dates, newest first, with their documents (duplicates left out).
with documents as (
    select * from main.documents
),

runs as (
    select date from main.current_runs
),

final as (
    select
        runs.date,
        count(documents.doc_id) filter (where not documents.is_duplicate) as documents
    from runs
    left join documents using (date)
    group by runs.date
)

select * from final
order by date desc

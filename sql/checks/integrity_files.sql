-- severity: error
-- description: every file of the date is accounted for: files seen = documents + rejects, in the run and in the tables
-- The commit refuses a run whose shards do not add up; this checks what the tables hold after it.
with runs as (
    select * from main.runs
    where is_current and date = $date
),

tables as (
    select
        (select count(*) from lake.documents where date = $date) as documents,
        (select count(*) from lake.rejects where date = $date) as rejects
),

final as (
    select
        format('{} documents + {} rejects in the tables', tables.documents, tables.rejects) as observed,
        format(
            '{} files seen = {} documents + {} rejects (the run''s counts)',
            runs.files_seen,
            runs.documents,
            runs.rejects
        ) as expected,
        format(
            'files seen {}, but the run counts {} documents + {} rejects and the tables hold {} + {}',
            runs.files_seen,
            runs.documents,
            runs.rejects,
            tables.documents,
            tables.rejects
        ) as message
    from runs
    cross join tables
    where
        runs.files_seen != runs.documents + runs.rejects
        or runs.documents != tables.documents
        or runs.rejects != tables.rejects
)

select * from final

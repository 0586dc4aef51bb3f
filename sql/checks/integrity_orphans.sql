-- severity: error
-- description: no orphan rows: every row belongs to the date's current run, and its doc_id is one of its documents
-- Over every table a run writes (the row_keys select, derived from the registry: pipeline/checks.py). A row of
-- an earlier run belongs to the current one when the current run's files (runs.files) include that run's file
-- (a rerun references the files whose rows it all takes over: pipeline/incremental.py).
with keys as (
    $row_keys
),

rows as (
    select * from keys
    where date = $date
),

current_run as (
    select run_id from main.current_runs
    where date = $date
),

its_runs as (
    select run_id from current_run
    union
    select regexp_extract(unnest(runs.files), '/(r\d{8}T\d{12}-[0-9a-f]{6})[^/]*$$', 1) as run_id
    from main.runs as runs
    where runs.run_id = (select run_id from current_run)
),

documents as (
    select key as doc_id from rows
    where table_name = 'documents'
),

orphans as (
    select
        rows.table_name,
        rows.key,
        if(
            rows.run_id is null or rows.run_id not in (select run_id from its_runs),
            format('of run {}, not the current one', rows.run_id),
            'whose doc_id is no document of the date'
        ) as why
    from rows
    where
        rows.run_id is null or rows.run_id not in (select run_id from its_runs)
        or (
            rows.key_column = 'doc_id'
            and rows.table_name != 'documents'
            and not exists (select 1 from documents where documents.doc_id = rows.key)
        )
),

final as (
    select
        format('{} rows', count(*)) as observed,
        'every row of the current run, its doc_id a document' as expected,
        format('{}: {} rows {} (first: {})', table_name, count(*), min(why), min(key)) as message
    from orphans
    group by table_name
)

select * from final

-- The date's runs (current first, then newest): what came in and what it became.
-- Parameters: $day.
with runs as (
    select * from main.runs
),

final as (
    select
        run_id,
        is_current,
        started_at,
        finished_at,
        date_diff('millisecond', started_at, finished_at) / 1000.0 as seconds,
        shards,
        files_seen,
        files_ignored,
        documents,
        duplicates,
        rejects,
        model,
        pipeline_version
    from runs
    where date = $day
)

select * from final
order by is_current desc, run_id desc

-- The data checks' results (lake.checks keeps every check run): the newest check run of each date's runs, with
-- is_current: the checks of the run the date shows. `from checks where is_current and status != 'pass'`.
with checks as (
    select * from lake.checks
),

current_runs as (
    select run_id from lake.current_runs
),

newest as (
    select * from checks
    qualify checked_at = max(checked_at) over (partition by date, run_id)
),

final as (
    select
        newest.*,
        current_runs.run_id is not null as is_current
    from newest
    left join current_runs on newest.run_id = current_runs.run_id
)

select * from final

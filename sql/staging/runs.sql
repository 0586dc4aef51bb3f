-- Every committed run, current or superseded (the job's history), with is_current: the run its date shows.
with runs as (
    select * from lake.runs
),

current_runs as (
    select run_id from lake.current_runs
),

final as (
    select
        runs.*,
        current_runs.run_id is not null as is_current
    from runs
    left join current_runs using (run_id)
)

select * from final

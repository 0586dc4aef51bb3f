-- The newest committed run of each date: the one planned last (run ids sort by plan time), so a run that read
-- older bytes never wins by committing later. A run's files count only once its row is in runs, so this is
-- the switch that makes a rewritten partition appear whole, or not at all, in every table at once.
with runs as (
    select * from lake.runs
),

final as (
    select
        date,
        max(run_id) as run_id
    from runs
    group by date
)

select * from final

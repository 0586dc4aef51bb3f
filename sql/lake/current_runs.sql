-- The newest committed run of each date. A run's files count only once its row is in runs, so this is the
-- switch that makes a rewritten partition appear whole, or not at all, in every table at once.
with runs as (
    select * from lake.runs
),

final as (
    select
        date,
        arg_max(run_id, finished_at) as run_id
    from runs
    group by date
)

select * from final

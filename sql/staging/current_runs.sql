-- The run whose files each date shows (see lake.current_runs).
select * from lake.current_runs

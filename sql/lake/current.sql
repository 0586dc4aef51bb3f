-- The rows of a table ($table) that count: those of each date's newest committed run (lake.current_runs),
-- with the columns declared in pipeline/registry.py. Generated into the lake schema for every table a run
-- writes; a run's files are in the lake before its commit, and this filter is what keeps them out of sight.
select $columns
from read_parquet('$lake/$table/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
semi join lake.current_runs using (run_id)

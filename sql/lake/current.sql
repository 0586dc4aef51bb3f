-- The current rows of a table ($table), with the columns declared in pipeline/registry.py: the files of each
-- date's current run, listed when the database was built (pipeline/lake.py, current_files), so every table
-- shows the same run of a date even while a newer one is being committed. For runs: every committed row.
-- Generated into the lake schema for every table; only this layer knows where the lake is.
select $columns
from read_parquet($files, hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)

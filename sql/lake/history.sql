-- Every row ever committed of a table ($table), with the columns declared in pipeline/registry.py: generated
-- into the lake schema for the runs table. Only this layer knows where the lake is and how it is laid out.
select $columns
from read_parquet('$lake/$table/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)

-- Documents of a date that have near-duplicates (wire copies, lightly edited re-posts), grouped by cluster.
-- similarity: estimated Jaccard similarity of word 5-shingles with the cluster's first document.
with source as (
    select *
    from read_parquet('$lake/near_duplicates/*/*.parquet', hive_partitioning = true, hive_types = {'date': date}, union_by_name = true)
),

current_runs as (
    select run_id from current_runs
),

final as (
    select
        doc_id,
        date,
        cluster_id,
        similarity,
        run_id
    from source
    semi join current_runs using (run_id)
)

select * from final

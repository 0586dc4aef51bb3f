-- severity: error
-- description: ids are unique: a document's doc_id, a reject's path, (doc_id, index) of its rows, once per table
-- Over every table a run writes (the row_keys select, derived from the registry: pipeline/checks.py).
with keys as (
    $row_keys
),

repeated as (
    select
        table_name,
        key_column,
        key,
        idx,
        count(*) as n
    from keys
    where date = $date
    group by table_name, key_column, key, idx
    having count(*) > 1
),

final as (
    select
        format('{} ids', count(*)) as observed,
        'each id once' as expected,
        format(
            '{}: {} ids appear more than once (first: {} {}{})',
            table_name,
            count(*),
            min(key_column),
            min(key),
            coalesce(format(', index {}', arg_min(idx, key)), '')
        ) as message
    from repeated
    group by table_name
)

select * from final

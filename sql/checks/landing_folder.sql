-- severity: error
-- description: the date's landing folder held files (a missing or empty one means the feed broke)
-- A day known to have no files passes when the run says so: the DAG's expect_empty parameter,
-- `news-etl run --allow-missing` or `news-etl check --expect-empty`.
with runs as (
    select * from main.runs
    where is_current and date = $date
),

final as (
    select
        format('{} files ({} ignored)', files_seen, files_ignored) as observed,
        'at least 1 file' as expected,
        format(
            'no files in the landing folder ({} ignored: hidden files or partial uploads): it is missing or empty; '
            || 'rerun the date once the files are there, or, if the day is known to be empty, say so (expect_empty)',
            files_ignored
        ) as message
    from runs
    where files_seen = 0 and not $expect_empty
)

select * from final

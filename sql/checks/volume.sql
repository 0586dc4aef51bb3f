-- severity: error
-- description: the date's files are within volume_low to volume_high times the median of the dates before it
-- The median is of the files of up to history_dates committed dates before this one (dates with no files left
-- out). With fewer than min_history such dates it only warns; with none it passes. Tuned by NEWS_CHECK_VOLUME_LOW,
-- NEWS_CHECK_VOLUME_HIGH, NEWS_CHECK_HISTORY_DATES and NEWS_CHECK_MIN_HISTORY.
with runs as (
    select date, files_seen from main.runs
    where is_current and date in $window
),

today as (
    select files_seen from runs where date = $date
),

baseline as (
    select
        median(files_seen) as median_files,
        count(*) as n_dates
    from runs
    where date in $trailing and files_seen > 0
),

final as (
    select
        format('{} files', today.files_seen) as observed,
        format(
            '{:.0f} to {:.0f} files', ceil($volume_low * median_files), floor($volume_high * median_files)
        ) as expected,
        format(
            '{} files, far {} the median of the {} committed dates before ({:.0f} files){}',
            today.files_seen,
            if(today.files_seen < $volume_low * median_files, 'below', 'above'),
            n_dates,
            median_files,
            if(n_dates < $min_history, format(' (only a warning: fewer than {} earlier dates)', $min_history), '')
        ) as message,
        if(n_dates < $min_history, 'warn', 'error') as severity
    from today
    cross join baseline
    where
        not $expect_empty
        and n_dates > 0
        and (today.files_seen < $volume_low * median_files or today.files_seen > $volume_high * median_files)
)

select * from final

-- What a check run checks (pipeline/checks.py): the date's current run and what it produced, then the committed
-- dates before it, newest first, from which $trailing and $window are made. Parameters: the date, how many rows.
select
    date,
    run_id,
    files_seen,
    documents,
    rejects
from main.runs
where is_current and date <= ?
order by date desc
limit ?

-- severity: warn
-- description: the share of documents not in the model's language did not jump above the dates before it
-- The share of the date's documents (exact duplicates left out) that were not analysed because CLD2 found another
-- language, against its median over up to history_dates committed dates before: a rise of more than language_jump
-- (NEWS_CHECK_LANGUAGE_JUMP, in share points: 0.15 = 15 points) warns of a feed that changed language.
with documents as (
    select
        date,
        language,
        not is_analysed as is_other_language
    from lake.documents
    where date in $window and duplicate_of is null
),

series as (
    select
        date,
        count(*) as documents,
        count(*) filter (where is_other_language) as other,
        avg(is_other_language::int) as value
    from documents
    group by date
),

languages as (
    select string_agg(format('{} {}', n, language), ', ' order by n desc, language) as top
    from (
        select
            language,
            count(*) as n
        from documents
        where date = $date and is_other_language
        group by language
        order by n desc, language  -- ties in a fixed order: the message must not change from run to run
        limit 3
    )
),

baseline as ($baseline),

final as (
    select
        format('{:.1f}% not analysed', 100 * today.value) as observed,
        format('at most {:.1f}%', 100 * (median_value + $language_jump)) as expected,
        format(
            '{} of {} documents ({:.1f}%) are not in the model''s language ({}), against a median of {:.1f}% on the {} '
            || 'dates before',
            today.other,
            today.documents,
            100 * today.value,
            languages.top,
            100 * median_value,
            n_dates
        ) as message
    from series as today
    cross join baseline
    cross join languages
    where today.date = $date and n_dates > 0 and today.value - median_value > $language_jump
)

select * from final

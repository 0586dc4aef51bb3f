-- Pairs of entities named in the same documents, by canonical_key, with how many documents name both, over
-- every date. entity_a/entity_b are the most frequent names of each key (of equally frequent ones, the last in
-- sort order, so the answer is stable). Summed from the per-date entity_pairs
-- and entity_mentions rollups (pipeline/rollups.py); a document is one date's, so the sums count each once.
-- No date column, as before: entity_cooccurrence_daily has the same pairs per date.
with entity_pairs as (
    select * from main.entity_pairs
),

entity_mentions as (
    select * from main.entity_mentions
),

spellings as (
    select
        canonical_key,
        canonical,
        sum(mentions) as mentions
    from entity_mentions
    group by canonical_key, canonical
),

names as (
    select
        canonical_key,
        arg_max(canonical, (mentions, canonical)) as canonical
    from spellings
    group by canonical_key
),

pairs as (
    select
        key_a,
        key_b,
        cast(sum(documents) as bigint) as documents,  -- count(*)'s type, as before
        min(example_doc_id) as example_doc_id
    from entity_pairs
    group by key_a, key_b
),

final as (
    select
        pairs.key_a,
        pairs.key_b,
        name_a.canonical as entity_a,
        name_b.canonical as entity_b,
        pairs.documents,
        pairs.example_doc_id
    from pairs
    inner join names as name_a on pairs.key_a = name_a.canonical_key
    inner join names as name_b on pairs.key_b = name_b.canonical_key
)

select * from final

-- Candidate rows of fct_reading ranked among those with the same key (device_key, metric,
-- aggregation, measured_at). Rank 1 is the row fct_reading keeps; the others are quarantined
-- (int_duplicate_records_unioned), so one vendor's duplicates never fail the mart's uniqueness
-- test for every vendor.
-- Ranked within a partition day (every vendor lands a value under the one day of its
-- measured_at). Key and tiebreak: macros/reading_duplicate_rank.sql.
-- Only a key held more than once needs a rank: such keys are found by grouping their hashes (a
-- hash aggregate, no sort; reading_key_hash), and only the rows of a hash held more than once are
-- ranked, by their exact key; every other row is rank 1. Ranking every reading sorted the whole
-- history (a quarter more time on 10 M readings); grouping by the five key columns cost about
-- twice the hash's grouping.
-- The partition window of an incremental run (none outside one: every day) applies here, before
-- the grouping: the search for duplicated keys then reads only the run's days.

with readings as (
    select
        *,
        {{ reading_key_hash() }} as key_hash
    from {{ ref('int_readings_unioned') }}
    where {{ in_partition_window('partition_date') }}
),

shared_hashes as (
    select key_hash from readings
    group by key_hash
    having count(*) > 1
),

single_readings as (
    select
        r.* exclude (key_hash),
        cast(1 as bigint) as duplicate_rank
    from readings as r
    anti join shared_hashes as k on r.key_hash = k.key_hash
),

ranked_readings as (
    select
        r.* exclude (key_hash),
        {{ reading_duplicate_rank() }} as duplicate_rank
    from readings as r
    semi join shared_hashes as k on r.key_hash = k.key_hash
),

final as (
    select * from single_readings
    union all
    select * from ranked_readings
)

select * from final

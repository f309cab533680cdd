-- Candidate rows of fct_reading ranked among those with the same key (device_key, metric,
-- aggregation, measured_at). Rank 1 is the row fct_reading keeps; the others are quarantined
-- (int_duplicate_records_unioned), so one vendor's duplicates never fail the mart's uniqueness
-- test for every vendor.
-- Ranked within a partition day (every vendor lands a value under the one day of its
-- measured_at). Key and tiebreak: macros/reading_duplicate_rank.sql.
-- Only a key held more than once needs a rank: such keys are found by grouping (a hash
-- aggregate, no sort), and only their rows are ranked; every other row is rank 1. Ranking every
-- reading sorted the whole history (a quarter more time on 10 M readings).
-- The partition window of an incremental run (none outside one: every day) applies here, before
-- the grouping: the search for duplicated keys then reads only the run's days.

with readings as (
    select * from {{ ref('int_readings_unioned') }}
    where {{ in_partition_window('partition_date') }}
),

duplicated_keys as (
    select {{ reading_key_columns() }} from readings
    group by all
    having count(*) > 1
),

single_readings as (
    select
        r.*,
        cast(1 as bigint) as duplicate_rank
    from readings as r
    anti join duplicated_keys as k on {{ reading_key_matches('r', 'k') }}
),

ranked_readings as (
    select
        r.*,
        {{ reading_duplicate_rank() }} as duplicate_rank
    from readings as r
    semi join duplicated_keys as k on {{ reading_key_matches('r', 'k') }}
),

final as (
    select * from single_readings
    union all
    select * from ranked_readings
)

select * from final

-- Candidate rows of fct_reading ranked among those with the same key (device_key, metric,
-- aggregation, measured_at). Rank 1 is the row fct_reading keeps; the others are quarantined
-- (int_duplicate_records_unioned), so one vendor's duplicates never fail the mart's uniqueness
-- test for every vendor.
-- Ranked within a partition day (every vendor lands a value under the one day of its
-- measured_at): fct_reading's partition-window filter then reaches the Parquet scan below the
-- window function, so an incremental run still reads only its days.
-- Key and tiebreak: macros/reading_duplicate_rank.sql.
with readings as (
    select * from {{ ref('int_readings_unioned') }}
),

final as (
    select
        *,
        {{ reading_duplicate_rank() }} as duplicate_rank
    from readings
)

select * from final

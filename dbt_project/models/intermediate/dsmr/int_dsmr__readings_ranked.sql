-- DSMR readings ranked among those of the same meter and timestamp: DSMR-reader v5.11 may store
-- several readings with one timestamp (distinct ids). The highest reading id (the last one
-- stored) ranks 1 and feeds fct_reading; the others are quarantined, never both.
-- As in int_readings_ranked, only a timestamp held more than once needs a rank: such keys are
-- found by grouping one hash of (partition_date, instance, measured_at), and only their rows are
-- ranked; every other reading is rank 1. A window over every reading sorted the whole history.
-- The partition window of an incremental run (none outside one: every day) applies here, before
-- the grouping, so a scheduled day reads only its days of DSMR readings.
with readings as (
    select
        *,
        hash(partition_date, instance, measured_at) as key_hash
    from {{ ref('stg_dsmr__readings') }}
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
        row_number() over (
            partition by r.partition_date, r.instance, r.measured_at order by r.reading_id desc
        ) as duplicate_rank
    from readings as r
    semi join shared_hashes as k on r.key_hash = k.key_hash
),

final as (
    select * from single_readings
    union all
    select * from ranked_readings
)

select * from final

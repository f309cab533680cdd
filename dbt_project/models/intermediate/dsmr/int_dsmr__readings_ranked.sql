-- DSMR readings ranked among those of the same meter and timestamp: DSMR-reader v5.11 may store
-- several readings with one timestamp (distinct ids). The highest reading id (the last one
-- stored) ranks 1 and feeds fct_reading; the others are quarantined, never both.
-- partition_date (the UTC day of measured_at) changes no group; it lets a partition-window
-- filter downstream reach the Parquet scan below the window function.
with readings as (
    select * from {{ ref('stg_dsmr__readings') }}
),

final as (
    select
        *,
        row_number() over (
            partition by partition_date, instance, measured_at order by reading_id desc
        ) as duplicate_rank
    from readings
)

select * from final

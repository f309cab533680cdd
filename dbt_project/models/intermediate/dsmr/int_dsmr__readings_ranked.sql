-- DSMR readings ranked among those of the same meter and timestamp: DSMR-reader v5.11 may store
-- several readings with one timestamp (distinct ids). The highest reading id (the last one
-- stored) ranks 1 and feeds fct_reading; the others are quarantined, never both.
with readings as (
    select * from {{ ref('stg_dsmr__readings') }}
),

final as (
    select
        *,
        row_number() over (partition by instance, measured_at order by reading_id desc) as duplicate_rank
    from readings
)

select * from final

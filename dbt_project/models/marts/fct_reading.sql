{{ partition_incremental() }}
-- Incremental by partition: a run replaces exactly the days of its partition window
-- (in_partition_window; deleting them first), so re-running a day never duplicates and an emptied day empties.
-- Of rows sharing a key only the one int_readings_ranked ranks first lands; the others are
-- quarantined (quarantined_records), so the key stays unique whatever a vendor sends.
-- depends_on: {{ ref('dim_device') }}

with readings as (
    select * from {{ ref('int_readings_ranked') }}
    where {{ in_partition_window('partition_date') }} and duplicate_rank = 1
),

final as (
    select
        device_key,
        vendor,
        metric,
        measured_at,
        value,
        unit,
        source,
        aggregation,
        partition_date
    from readings
)

select * from final

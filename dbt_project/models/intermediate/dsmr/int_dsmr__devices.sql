-- DSMR-reader instances (latest snapshot) in the shape of int_devices_unioned: one smart meter each.
with meters as (
    select * from {{ ref('stg_dsmr__meters') }}
    qualify row_number() over (partition by instance order by snapshot_date desc) = 1
),

first_snapshots as (
    select instance, min(snapshot_date) as first_snapshot_date
    from {{ ref('stg_dsmr__meters') }}
    group by instance
),

seen as (
    select instance, min(measured_at) as first_reading_at, max(measured_at) as last_reading_at
    from {{ ref('stg_dsmr__readings') }}
    group by instance
),

final as (
    select
        'dsmr' as vendor,
        meters.instance as native_id,
        meters.instance as name,
        'smart_meter' as kind,
        cast(null as varchar) as status,
        meters.timezone,
        cast(null as double) as latitude,
        cast(null as double) as longitude,
        cast(null as varchar) as group_name,
        coalesce(seen.first_reading_at, cast(first_snapshots.first_snapshot_date as timestamptz)) as first_seen_at,
        greatest(seen.last_reading_at, meters.latest_reading_at) as last_seen_at
    from meters
    left join first_snapshots on meters.instance = first_snapshots.instance
    left join seen on meters.instance = seen.instance
)

select * from final

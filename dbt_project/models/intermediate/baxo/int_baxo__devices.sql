-- BAXO devices in the shape of int_devices_unioned (latest snapshot per device).
with devices as (
    select * from {{ ref('stg_baxo__devices') }}
    qualify row_number() over (partition by device_id order by snapshot_date desc) = 1
),

contracts as (
    select * from {{ ref('stg_baxo__contracts') }}
    qualify row_number() over (partition by contract_id order by snapshot_date desc) = 1
),

first_snapshots as (
    select device_id, min(snapshot_date) as first_snapshot_date
    from {{ ref('stg_baxo__devices') }}
    group by device_id
),

tag_values as (
    select device_id, measured_at from {{ ref('stg_baxo__device_historics') }}
    union all
    select device_id, measured_at from {{ ref('stg_baxo__device_realtimes') }}
),

seen as (
    select device_id, min(measured_at) as first_value_at, max(measured_at) as last_value_at
    from tag_values
    group by device_id
),

zones as (
    select * from {{ ref('windows_timezones') }}
),

final as (
    select
        'baxo' as vendor,
        devices.device_id as native_id,
        devices.device_name as name,
        'data_logger' as kind,
        devices.status,
        zones.iana_zone as timezone,
        cast(null as double) as latitude,
        cast(null as double) as longitude,
        contracts.company as group_name,
        coalesce(seen.first_value_at, cast(first_snapshots.first_snapshot_date as timestamptz)) as first_seen_at,
        seen.last_value_at as last_seen_at
    from devices
    left join contracts on devices.contract_id = contracts.contract_id
    left join first_snapshots on devices.device_id = first_snapshots.device_id
    left join seen on devices.device_id = seen.device_id
    left join zones on devices.timezone_label = zones.windows_label
)

select * from final

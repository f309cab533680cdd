-- Bagtower devices in the shape of int_devices_unioned (latest snapshot per device).
with devices as (
    select * from {{ ref('stg_bagtower__devices') }}
    qualify row_number() over (partition by device_id order by snapshot_date desc) = 1
),

logs as (
    select device_id, min(measured_at) as first_log_at, max(measured_at) as last_log_at
    from {{ ref('stg_bagtower__device_logs') }}
    group by device_id
),

final as (
    select
        'bagtower' as vendor,
        devices.device_id as native_id,
        devices.device_name as name,
        'monitored_device' as kind,
        devices.status,
        devices.timezone,
        cast(null as double) as latitude,
        cast(null as double) as longitude,
        devices.group_name,
        coalesce(logs.first_log_at, devices.created_at) as first_seen_at,
        logs.last_log_at as last_seen_at
    from devices
    left join logs on devices.device_id = logs.device_id
)

select * from final

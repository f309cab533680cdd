with devices as (
    select * from {{ ref('int_devices_unioned') }}
),

device_tags as (
    select * from {{ ref('int_device_tags_unioned') }}
),

final as (
    select
        {{ device_key('devices.vendor', 'devices.native_id') }} as device_key,
        devices.vendor,
        devices.native_id,
        devices.name,
        devices.kind,
        devices.status,
        devices.timezone,
        devices.latitude,
        devices.longitude,
        devices.group_name,
        device_tags.tags,
        devices.first_seen_at,
        devices.last_seen_at
    from devices
    left join device_tags
        on devices.vendor = device_tags.vendor and devices.native_id = device_tags.native_id
)

select * from final

with devices as (
    select * from {{ ref('int_devices_unioned') }}
),

final as (
    select
        {{ device_key('vendor', 'native_id') }} as device_key,
        vendor,
        native_id,
        name,
        kind,
        status,
        timezone,
        latitude,
        longitude,
        group_name,
        first_seen_at,
        last_seen_at
    from devices
)

select * from final

-- enCloud routers in the shape of int_devices_unioned: attributes of the latest daily pull,
-- first/last seen over every pull (the vendor reports each check-in time as last_seen).
with devices as (
    select * from {{ ref('stg_encloud__devices') }}
),

latest as (
    select * from devices
    qualify row_number() over (partition by device_uid order by partition_date desc) = 1
),

seen as (
    select
        device_uid,
        min(last_seen_at) as first_check_in_at,
        max(last_seen_at) as last_check_in_at,
        min(as_of) as first_pull_at
    from devices
    group by device_uid
),

final as (
    select
        'encloud' as vendor,
        latest.device_uid as native_id,
        -- the device pull answers no name: the UID is what enCloud shows and searches by
        latest.device_uid as name,
        'router' as kind,
        latest.state as status,
        cast(null as varchar) as timezone,
        latest.latitude,
        latest.longitude,
        latest.customer_id as group_name,
        coalesce(seen.first_check_in_at, seen.first_pull_at) as first_seen_at,
        seen.last_check_in_at as last_seen_at
    from latest
    left join seen on latest.device_uid = seen.device_uid
)

select * from final

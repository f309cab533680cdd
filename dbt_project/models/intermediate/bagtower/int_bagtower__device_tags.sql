-- Tags of each Bagtower device (latest snapshot), for dim_device.
with devices as (
    select * from {{ ref('stg_bagtower__devices') }}
    qualify row_number() over (partition by device_id order by snapshot_date desc) = 1
),

final as (
    select
        'bagtower' as vendor,
        device_id as native_id,
        list_sort(tags) as tags
    from devices
)

select * from final

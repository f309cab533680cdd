with source as (
    select * from {{ source('dsmr', 'gas_consumption') }}
),

renamed as (
    select
        instance,
        consumption_id,
        cast(read_at as timestamptz) as read_at,
        delivered as gas_delivered_m3,
        currently_delivered as gas_since_previous_m3,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

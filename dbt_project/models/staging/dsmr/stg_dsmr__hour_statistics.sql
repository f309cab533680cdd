with source as (
    select * from {{ source('dsmr', 'hour_statistics') }}
),

renamed as (
    select
        instance,
        stat_id,
        cast(hour_start as timestamptz) as hour_start,
        electricity1 as electricity_delivered_tariff1_kwh,
        electricity2 as electricity_delivered_tariff2_kwh,
        electricity1_returned as electricity_returned_tariff1_kwh,
        electricity2_returned as electricity_returned_tariff2_kwh,
        gas as gas_m3,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('dsmr', 'consumption_today') }}
),

renamed as (
    select
        instance,
        cast(day as date) as local_date,
        electricity1 as electricity_delivered_tariff1_kwh,
        electricity2 as electricity_delivered_tariff2_kwh,
        electricity1_returned as electricity_returned_tariff1_kwh,
        electricity2_returned as electricity_returned_tariff2_kwh,
        gas as gas_m3,
        electricity1_cost as electricity_tariff1_cost,
        electricity2_cost as electricity_tariff2_cost,
        gas_cost,
        total_cost,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('dsmr', 'day_statistics') }}
),

renamed as (
    select
        instance,
        stat_id,
        cast(day as date) as local_date,
        electricity1 as electricity_delivered_tariff1_kwh,
        electricity2 as electricity_delivered_tariff2_kwh,
        electricity1_returned as electricity_returned_tariff1_kwh,
        electricity2_returned as electricity_returned_tariff2_kwh,
        gas as gas_m3,
        electricity1_cost as electricity_tariff1_cost,
        electricity2_cost as electricity_tariff2_cost,
        gas_cost,
        fixed_cost,
        total_cost,
        lowest_temperature as temperature_min_degc,
        highest_temperature as temperature_max_degc,
        average_temperature as temperature_avg_degc,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

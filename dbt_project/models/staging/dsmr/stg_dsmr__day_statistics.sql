-- Empty until the first day_statistics land, so the warehouse builds without DSMR data.
with source as (
    {{ landed_or_empty('dsmr', 'day_statistics', {
            'instance': 'varchar',
            'stat_id': 'bigint',
            'day': 'date',
            'electricity1': 'decimal(12,3)',
            'electricity2': 'decimal(12,3)',
            'electricity1_returned': 'decimal(12,3)',
            'electricity2_returned': 'decimal(12,3)',
            'gas': 'decimal(12,3)',
            'electricity1_cost': 'decimal(12,2)',
            'electricity2_cost': 'decimal(12,2)',
            'gas_cost': 'decimal(12,2)',
            'fixed_cost': 'decimal(12,2)',
            'total_cost': 'decimal(12,2)',
            'lowest_temperature': 'decimal(6,1)',
            'highest_temperature': 'decimal(6,1)',
            'average_temperature': 'decimal(6,1)',
            'date': 'varchar'
    }) }}
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

-- Empty until the first consumption_today land, so the warehouse builds without DSMR data.
with source as (
    {{ landed_or_empty('dsmr', 'consumption_today', {
            'instance': 'varchar',
            'day': 'date',
            'electricity1': 'decimal(12,3)',
            'electricity2': 'decimal(12,3)',
            'electricity1_returned': 'decimal(12,3)',
            'electricity2_returned': 'decimal(12,3)',
            'gas': 'decimal(12,3)',
            'electricity1_cost': 'decimal(12,2)',
            'electricity2_cost': 'decimal(12,2)',
            'gas_cost': 'decimal(12,2)',
            'total_cost': 'decimal(12,2)',
            'date': 'varchar'
    }) }}
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

-- Empty until the first hour_statistics land, so the warehouse builds without DSMR data.
with source as (
    {{ landed_or_empty('dsmr', 'hour_statistics', {
            'instance': 'varchar',
            'stat_id': 'bigint',
            'hour_start': 'timestamptz',
            'electricity1': 'decimal(12,3)',
            'electricity2': 'decimal(12,3)',
            'electricity1_returned': 'decimal(12,3)',
            'electricity2_returned': 'decimal(12,3)',
            'gas': 'decimal(12,3)',
            'date': 'varchar'
    }) }}
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

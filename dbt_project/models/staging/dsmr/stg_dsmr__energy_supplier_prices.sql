with source as (
    select * from {{ source('dsmr', 'energy_supplier_prices') }}
),

renamed as (
    select
        instance,
        contract_id,
        start_date,
        end_date,
        description,
        electricity_delivered_1_price as electricity_tariff1_price,
        electricity_delivered_2_price as electricity_tariff2_price,
        electricity_returned_1_price as electricity_returned_tariff1_price,
        electricity_returned_2_price as electricity_returned_tariff2_price,
        gas_price,
        fixed_daily_cost,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

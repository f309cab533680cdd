with source as (
    select * from {{ source('dsmr', 'readings') }}
),

renamed as (
    select
        instance,
        reading_id,
        cast(measured_at as timestamptz) as measured_at,
        electricity_delivered_1 as electricity_delivered_tariff1_kwh,
        electricity_delivered_2 as electricity_delivered_tariff2_kwh,
        electricity_returned_1 as electricity_returned_tariff1_kwh,
        electricity_returned_2 as electricity_returned_tariff2_kwh,
        electricity_currently_delivered as power_delivered_kw,
        electricity_currently_returned as power_returned_kw,
        phase_currently_delivered_l1 as power_delivered_l1_kw,
        phase_currently_delivered_l2 as power_delivered_l2_kw,
        phase_currently_delivered_l3 as power_delivered_l3_kw,
        phase_currently_returned_l1 as power_returned_l1_kw,
        phase_currently_returned_l2 as power_returned_l2_kw,
        phase_currently_returned_l3 as power_returned_l3_kw,
        phase_voltage_l1 as voltage_l1_v,
        phase_voltage_l2 as voltage_l2_v,
        phase_voltage_l3 as voltage_l3_v,
        cast(gas_measured_at as timestamptz) as gas_measured_at,
        gas_delivered as gas_delivered_m3,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

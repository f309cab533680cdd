with source as (
    select * from {{ source('dsmr', 'electricity_consumption') }}
),

renamed as (
    select
        instance,
        consumption_id,
        cast(read_at as timestamptz) as read_at,
        delivered_1 as electricity_delivered_tariff1_kwh,
        delivered_2 as electricity_delivered_tariff2_kwh,
        returned_1 as electricity_returned_tariff1_kwh,
        returned_2 as electricity_returned_tariff2_kwh,
        currently_delivered as power_delivered_kw,
        currently_returned as power_returned_kw,
        phase_currently_delivered_l1 as power_delivered_l1_kw,
        phase_currently_delivered_l2 as power_delivered_l2_kw,
        phase_currently_delivered_l3 as power_delivered_l3_kw,
        phase_currently_returned_l1 as power_returned_l1_kw,
        phase_currently_returned_l2 as power_returned_l2_kw,
        phase_currently_returned_l3 as power_returned_l3_kw,
        phase_voltage_l1 as voltage_l1_v,
        phase_voltage_l2 as voltage_l2_v,
        phase_voltage_l3 as voltage_l3_v,
        phase_power_current_l1 as current_l1_a,
        phase_power_current_l2 as current_l2_a,
        phase_power_current_l3 as current_l3_a,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

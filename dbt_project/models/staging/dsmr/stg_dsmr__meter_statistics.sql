with source as (
    select * from {{ source('dsmr', 'meter_statistics') }}
),

renamed as (
    select
        instance,
        cast(measured_at as timestamptz) as measured_at,
        dsmr_version,
        electricity_tariff,
        power_failure_count,
        long_power_failure_count,
        voltage_sag_count_l1,
        voltage_sag_count_l2,
        voltage_sag_count_l3,
        voltage_swell_count_l1,
        voltage_swell_count_l2,
        voltage_swell_count_l3,
        rejected_telegrams,
        latest_telegram,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

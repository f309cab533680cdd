with source as (
    select * from {{ source('primayer', 'logger_epochs') }}
),

renamed as (
    select
        serial,
        cast(measured_at as timestamptz) as measured_at,
        timestamp_local,
        timezone,
        battery as battery_pct,
        cnv,
        lcf,
        temperature as temperature_c,
        latitude,
        longitude,
        histogram_count,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

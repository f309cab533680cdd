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
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

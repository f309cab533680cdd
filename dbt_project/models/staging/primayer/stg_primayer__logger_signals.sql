with source as (
    select * from {{ source('primayer', 'logger_signals') }}
),

renamed as (
    select
        serial,
        cast(measured_at as timestamptz) as measured_at,
        network_name,
        network_type,
        signal_raw,
        signal_pct,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

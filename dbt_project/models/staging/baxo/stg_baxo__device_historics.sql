with source as (
    select * from {{ source('baxo', 'device_historics') }}
),

renamed as (
    select
        device_id,
        tag_reference,
        value,
        value_raw,
        cast(measured_at as timestamptz) as measured_at,
        source_name as source,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

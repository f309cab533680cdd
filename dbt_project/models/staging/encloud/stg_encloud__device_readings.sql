with source as (
    select * from {{ source('encloud', 'device_readings') }}
),

renamed as (
    select
        device_uid,
        customer_id,
        key as sensor_key,
        value,
        status,
        value_raw,
        cast(measured_at as timestamptz) as measured_at,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

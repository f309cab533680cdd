with source as (
    select * from {{ source('bagtower', 'device_log_summaries') }}
),

renamed as (
    select
        device_id,
        metric_id,
        display,
        aggregate,
        cast(measured_at as timestamptz) as measured_at,
        value,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

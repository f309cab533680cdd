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
        cast("date" as date) as partition_date
    from source
)

select * from renamed

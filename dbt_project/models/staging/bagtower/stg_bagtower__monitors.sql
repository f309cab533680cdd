with source as (
    select * from {{ source('bagtower', 'monitors') }}
),

renamed as (
    select
        monitor_id,
        name as monitor_name,
        metrics,
        attachment_type,
        attachment_value,
        delay_s,
        fixed_cost,
        cost_per_minute,
        cast(created_at as timestamptz) as created_at,
        cast(modified_at as timestamptz) as modified_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

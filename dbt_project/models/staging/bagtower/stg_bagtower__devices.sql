with source as (
    select * from {{ source('bagtower', 'devices') }}
),

renamed as (
    select
        device_id,
        device_name,
        group_name,
        tags,
        metric_types,
        period_s,
        lower(status) as status,
        timezone,
        enabled,
        is_pool,
        cast(created_at as timestamptz) as created_at,
        cast(modified_at as timestamptz) as modified_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('primayer', 'group_summaries') }}
),

renamed as (
    select
        cast(group_id as varchar) as group_id,
        group_name,
        leak_count,
        cast(reported_at as timestamptz) as reported_at,
        report_date,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('bagtower', 'issue_statistics') }}
),

renamed as (
    select
        cast(window_start as timestamptz) as window_start,
        cast(window_end as timestamptz) as window_end,
        breakdown,
        measure,
        label,
        cause_id,
        cast(bucket_at as timestamptz) as bucket_at,
        value,
        previous_value,
        currency,
        cast(_extracted_at as timestamptz) as extracted_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

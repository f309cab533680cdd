with source as (
    select * from {{ source('bagtower', 'issue_events') }}
),

renamed as (
    select
        event_id,
        issue_id,
        event_type,
        cast(occurred_at as timestamptz) as occurred_at,
        cast(modified_at as timestamptz) as modified_at,
        is_created_by_user,
        content,
        cast(_extracted_at as timestamptz) as extracted_at,
        cast("date" as date) as landed_on
    from source
)

select * from renamed

with source as (
    select * from {{ source('bagtower', 'issues') }}
),

renamed as (
    select
        issue_id,
        device_id,
        title,
        subtitle,
        cast(started_at as timestamptz) as started_at,
        -- null while open: extraction maps the vendor's open marker (stopTs 9876543210) to null
        cast(stopped_at as timestamptz) as stopped_at,
        is_open,
        is_archived,
        is_manual,
        cast(created_at as timestamptz) as created_at,
        cast(modified_at as timestamptz) as modified_at,
        monitor_id,
        cost,
        kanban_stage_id,
        cause_id,
        cause_text,
        solution_id,
        cast(_extracted_at as timestamptz) as extracted_at,
        cast("date" as date) as modified_on
    from source
)

select * from renamed

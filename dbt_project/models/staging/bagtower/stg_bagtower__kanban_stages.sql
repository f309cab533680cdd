with source as (
    select * from {{ source('bagtower', 'kanban_stages') }}
),

renamed as (
    select
        stage_id,
        name as stage_name,
        stage_index,
        description as stage_description,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

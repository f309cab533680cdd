with source as (
    select * from {{ source('bagtower', 'causes') }}
),

renamed as (
    select
        id as cause_id,
        title as cause_title,
        description as cause_description,
        cast(created_at as timestamptz) as created_at,
        cast(modified_at as timestamptz) as modified_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('bagtower', 'solutions') }}
),

renamed as (
    select
        id as solution_id,
        title as solution_title,
        description as solution_description,
        cast(created_at as timestamptz) as created_at,
        cast(modified_at as timestamptz) as modified_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

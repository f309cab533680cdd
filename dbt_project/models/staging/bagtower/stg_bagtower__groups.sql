with source as (
    select * from {{ source('bagtower', 'groups') }}
),

renamed as (
    select
        group_name,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

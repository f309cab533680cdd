with source as (
    select * from {{ source('primayer', 'group_leaks') }}
),

renamed as (
    select
        cast(group_id as varchar) as group_id,
        left_serial,
        right_serial,
        confidence,
        distance_from_left_m,
        detected_on,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

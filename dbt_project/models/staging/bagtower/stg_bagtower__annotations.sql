with source as (
    select * from {{ source('bagtower', 'annotations') }}
),

renamed as (
    select
        annotation_id,
        device_id,
        user_id,
        cast(annotated_at as timestamptz) as annotated_at,
        title,
        content as content_html,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

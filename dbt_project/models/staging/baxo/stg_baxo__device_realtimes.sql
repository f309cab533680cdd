with source as (
    select * from {{ source('baxo', 'device_realtimes') }}
),

renamed as (
    select
        device_id,
        tag_reference,
        value,
        value_raw,
        cast(measured_at as timestamptz) as measured_at,
        is_event,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

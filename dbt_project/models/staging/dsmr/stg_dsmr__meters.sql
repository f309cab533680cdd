with source as (
    select * from {{ source('dsmr', 'meters') }}
),

renamed as (
    select
        instance,
        timezone,
        base_url,
        reading_count,
        cast(latest_reading_at as timestamptz) as latest_reading_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

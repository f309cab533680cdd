-- Empty until the first meters land, so the warehouse builds without DSMR data.
with source as (
    {{ landed_or_empty('dsmr', 'meters', {
            'instance': 'varchar',
            'timezone': 'varchar',
            'base_url': 'varchar',
            'reading_count': 'bigint',
            'latest_reading_at': 'timestamptz',
            'date': 'varchar'
    }) }}
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

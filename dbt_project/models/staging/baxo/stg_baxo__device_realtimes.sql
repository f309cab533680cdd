with source as (
    {{ landed_or_empty('baxo', 'device_realtimes', {
            'device_id': 'varchar',
            'tag_reference': 'varchar',
            'value_raw': 'varchar',
            'value': 'double',
            'timestamp_2000': 'bigint',
            'measured_at': 'timestamptz',
            'is_event': 'boolean',
            'date': 'varchar'
    }) }}
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

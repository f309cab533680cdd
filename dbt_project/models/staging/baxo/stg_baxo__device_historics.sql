with source as (
    {{ landed_or_empty('baxo', 'device_historics', {
            'device_id': 'varchar',
            'tag_reference': 'varchar',
            'value_raw': 'varchar',
            'value': 'double',
            'timestamp_2000': 'bigint',
            'measured_at': 'timestamptz',
            'source': 'bigint',
            'source_name': 'varchar',
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
        source_name as source,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

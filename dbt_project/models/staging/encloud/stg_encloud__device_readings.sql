with source as (
    select * from {{ landed_source('encloud', 'device_readings', {
        'device_uid': 'varchar', 'customer_id': 'varchar', 'key': 'varchar', 'value_raw': 'varchar',
        'value': 'double', 'status': 'varchar', 'measured_at': 'timestamptz', 'date': 'varchar'}) }}
),

renamed as (
    select
        device_uid,
        customer_id,
        key as sensor_key,
        value,
        status,
        value_raw,
        cast(measured_at as timestamptz) as measured_at,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

-- enCloud sensor keys in the shape of fct_reading: keys mapped to metrics and units by the
-- encloud_key_metrics seed, link-status words to numeric codes by encloud_link_statuses.
with readings as (
    select * from {{ ref('stg_encloud__device_readings') }}
),

key_metrics as (
    select * from {{ ref('encloud_key_metrics') }}
),

link_statuses as (
    select * from {{ ref('encloud_link_statuses') }}
),

final as (
    select
        {{ device_key("'encloud'", "readings.device_uid") }} as device_key,
        'encloud' as vendor,
        coalesce(key_metrics.metric, replace(readings.sensor_key, '.', '_')) as metric,
        readings.measured_at,
        coalesce(readings.value, cast(link_statuses.code as double)) as value,
        -- a tag, key or metric no seed maps still lands, with unit 'unknown' (a warn test names it)
        coalesce(key_metrics.unit, 'unknown') as unit,
        'device' as source,
        'none' as aggregation,
        readings.partition_date,
        readings.extracted_at,
        readings.source_endpoint
    from readings
    left join key_metrics on readings.sensor_key = key_metrics.sensor_key
    left join link_statuses on readings.status = link_statuses.status
)

select * from final

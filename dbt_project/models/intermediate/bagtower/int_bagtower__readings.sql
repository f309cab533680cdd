-- Bagtower log values in the shape of fct_reading. Metric ids are device-defined: a raw value's
-- metric is the log's data id; a summary value's is `<id>_<aggregate>` (`<id>_state` for a state
-- change), so raw values and the statistics of the hour starting at the same instant never collide.
-- Units come from the metric_dictionary seed; an id it lacks lands with unit 'unknown' and a
-- warn test names it.
with raw_values as (
    select
        device_id,
        metric_id as metric,
        measured_at,
        value,
        'device' as source,
        partition_date,
        extracted_at,
        source_endpoint
    from {{ ref('stg_bagtower__device_logs') }}
),

summaries as (
    select
        device_id,
        metric_id || '_' || case aggregate when 'states' then 'state' else aggregate end as metric,
        measured_at,
        value,
        'aggregate' as source,
        partition_date,
        extracted_at,
        source_endpoint
    from {{ ref('stg_bagtower__device_log_summaries') }}
),

readings as (
    select * from raw_values
    union all
    select * from summaries
),

metrics as (
    select * from {{ ref('metric_dictionary') }}
),

final as (
    select
        {{ device_key("'bagtower'", "readings.device_id") }} as device_key,
        'bagtower' as vendor,
        readings.metric,
        readings.measured_at,
        readings.value,
        coalesce(metrics.unit, 'unknown') as unit,
        readings.source,
        readings.partition_date,
        readings.extracted_at,
        readings.source_endpoint
    from readings
    left join metrics on readings.metric = metrics.metric
)

select * from final

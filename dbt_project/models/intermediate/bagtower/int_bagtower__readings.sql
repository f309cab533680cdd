-- Bagtower log values in the shape of fct_reading. Metric ids are device-defined: every value's
-- metric is the log's data id; `aggregation` tells a raw value ('none') from the platform's
-- statistic of the hour starting at measured_at ('mean', 'max', ...; 'state_change' for a state
-- change), so both share one metric name and never collide on the key.
-- Units come from the metric_dictionary seed; an id it lacks lands with unit 'unknown' and a
-- warn test names it. The mean of a 0/1 flag is a share of the hour (ratio), its sum a count.
with raw_values as (
    select
        device_id,
        metric_id as metric,
        measured_at,
        value,
        'device' as source,
        'none' as aggregation,
        partition_date,
        extracted_at,
        source_endpoint
    from {{ ref('stg_bagtower__device_logs') }}
),

summaries as (
    select
        device_id,
        metric_id as metric,
        measured_at,
        value,
        'aggregate' as source,
        case aggregate when 'states' then 'state_change' else aggregate end as aggregation,
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
        case
            when metrics.unit = 'flag' and readings.aggregation = 'mean' then 'ratio'
            when metrics.unit = 'flag' and readings.aggregation = 'sum' then 'count'
            else coalesce(metrics.unit, 'unknown')
        end as unit,
        readings.source,
        readings.aggregation,
        readings.partition_date,
        readings.extracted_at,
        readings.source_endpoint
    from readings
    left join metrics on readings.metric = metrics.metric
)

select * from final

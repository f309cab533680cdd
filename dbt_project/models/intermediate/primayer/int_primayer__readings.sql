-- Primayer readings in the shape of fct_reading: epoch values, signal strength and the
-- statistics of every noise histogram (at the histogram's own time), one copy of a histogram
-- served twice (int_primayer__histogram_stats_ranked).
with epochs as (
    select * from {{ ref('stg_primayer__logger_epochs') }}
),

signals as (
    select * from {{ ref('stg_primayer__logger_signals') }}
),

histograms as (
    select * from {{ ref('int_primayer__histogram_stats_ranked') }}
    where duplicate_rank = 1
),

epoch_values as (
    unpivot (
        select serial, measured_at, partition_date, extracted_at, source_endpoint,
            cast(battery_pct as double) as battery_level,
            cast(temperature_c as double) as temperature,
            cast(cnv as double) as cnv,
            cast(lcf as double) as lcf
        from epochs
    )
    on battery_level, temperature, cnv, lcf
    into name metric value value
),

histogram_values as (
    unpivot (
        select serial, histogram_at as measured_at, partition_date, extracted_at, source_endpoint,
            cast(p10_bin as double) as noise_level_p10,
            cast(p50_bin as double) as noise_level_p50,
            cast(p90_bin as double) as noise_level_p90,
            cast(modal_bin as double) as noise_level_modal,
            cast(spread_bins as double) as noise_spread,
            cast(total_samples as double) as noise_samples,
            cast(leak_likely as double) as leak_likely
        from histograms
    )
    on noise_level_p10, noise_level_p50, noise_level_p90, noise_level_modal, noise_spread, noise_samples, leak_likely
    into name metric value value
),

signal_values as (
    select
        serial, measured_at, partition_date, extracted_at, source_endpoint,
        'signal_strength' as metric, signal_pct as value
    from signals
),

all_values as (
    select * from epoch_values
    union all
    select * from histogram_values
    union all
    select * from signal_values
),

metrics as (
    select * from {{ ref('metric_dictionary') }}
),

final as (
    select
        {{ device_key("'primayer'", "all_values.serial") }} as device_key,
        'primayer' as vendor,
        all_values.metric,
        all_values.measured_at,
        all_values.value,
        coalesce(metrics.unit, 'unknown') as unit,
        'device' as source,
        'none' as aggregation,
        all_values.partition_date,
        all_values.extracted_at,
        all_values.source_endpoint
    from all_values
    left join metrics on all_values.metric = metrics.metric
    where all_values.value is not null
)

select * from final

{{ partition_incremental() }}
-- The noise distribution behind Primayer's leak detection: every bin of every histogram a logger
-- recorded, with its share of the histogram's samples and the cumulative share (where it crosses
-- 0.1, 0.5 and 0.9 are the P10/P50/P90 bins fct_reading carries as noise_level_p10/p50/p90).
-- A histogram served twice keeps the copy fct_reading keeps (int_primayer__histogram_stats_ranked);
-- copies served within one epoch are the same histogram, so one row per bin is kept.
-- Incremental by partition like fct_reading: a run replaces exactly the days of its window.
-- depends_on: {{ ref('dim_device') }}
with kept_histograms as (
    select serial, histogram_at, epoch_at, partition_date
    from {{ ref('int_primayer__histogram_stats_ranked') }}
    where duplicate_rank = 1 and {{ in_partition_window('partition_date') }}
),

bins as (
    select * from {{ ref('stg_primayer__histogram_bins') }}
    where {{ in_partition_window('partition_date') }}
),

kept_bins as (
    select bins.*
    from bins
    inner join kept_histograms
        on bins.partition_date = kept_histograms.partition_date
        and bins.serial = kept_histograms.serial
        and bins.histogram_at = kept_histograms.histogram_at
        -- a partition is landed whole by one run: its epoch tells the copies apart
        and bins.epoch_at = kept_histograms.epoch_at
    qualify row_number() over (
        partition by bins.serial, bins.histogram_at, bins.bin order by bins.sample_count desc
    ) = 1
),

shares as (
    select
        *,
        cast(sum(sample_count) over (partition by serial, histogram_at) as bigint) as total_samples,
        sum(sample_count) over (
            partition by serial, histogram_at order by bin rows between unbounded preceding and current row
        ) as cumulative_samples
    from kept_bins
),

final as (
    select
        {{ device_key("'primayer'", "serial") }} as device_key,
        'primayer' as vendor,
        serial,
        histogram_at,
        epoch_at,
        bin,
        sample_count,
        total_samples,
        sample_count / total_samples as sample_share,
        cumulative_samples / total_samples as cumulative_share,
        partition_date
    from shares
)

select * from final

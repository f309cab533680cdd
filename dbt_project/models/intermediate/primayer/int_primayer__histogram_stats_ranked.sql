-- Primayer histogram statistics ranked among those of the same logger and histogram time: a
-- histogram served twice lands twice. Rank 1 feeds fct_reading, the others are quarantined.
-- Tiebreak, so a rebuild keeps the same copy: the latest landing, then the statistics themselves.
-- partition_date (the UTC day of histogram_at) changes no group; it lets a partition-window
-- filter downstream reach the Parquet scan below the window function.
with histograms as (
    select * from {{ ref('stg_primayer__histogram_stats') }}
),

final as (
    select
        *,
        row_number() over (
            partition by partition_date, serial, histogram_at
            order by
                extracted_at desc, epoch_at desc, bin_count desc, total_samples desc, modal_bin,
                p10_bin, p50_bin, p90_bin
        ) as duplicate_rank
    from histograms
)

select * from final

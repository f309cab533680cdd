-- Primayer histogram statistics ranked among those of the same logger and histogram time: a
-- histogram served twice lands twice. Rank 1 feeds fct_reading, the others are quarantined.
-- Tiebreak, so a rebuild keeps the same copy: the latest landing, then the statistics themselves.
-- partition_date (the UTC day of histogram_at) changes no group; only keys held more than once
-- are ranked, within the partition window: macros/rank_by_key.sql.
{{ rank_by_key(
    ref('stg_primayer__histogram_stats'),
    ['partition_date', 'serial', 'histogram_at'],
    'extracted_at desc, epoch_at desc, bin_count desc, total_samples desc, modal_bin, p10_bin, p50_bin, p90_bin'
) }}

-- A table, not a view: the search for duplicate readings reads every reading of the history, and
-- as a view it ran once for quarantined_records and again for each of its own tests. Built once
-- here, they read the result. It belongs to the whole-history build (like quarantined_records);
-- the daily facts step ranks only its days, in fct_reading (int_readings_ranked).
{{ config(materialized='table') }}

-- The rows each deduplicating model left out (rank above 1), in the shape of quarantined_records:
-- the record itself as JSON text and why it was left out. The kept copy is never among them.
with dsmr_readings as (
    select * exclude (duplicate_rank) from {{ ref('int_dsmr__readings_ranked') }}
    where duplicate_rank > 1
),

primayer_histograms as (
    select * exclude (duplicate_rank) from {{ ref('int_primayer__histogram_stats_ranked') }}
    where duplicate_rank > 1
),

-- The readings int_readings_ranked ranks below a copy of their key: the very rank fct_reading
-- keeps rank 1 of (every day: no partition window outside the facts step).
readings as (
    select * exclude (duplicate_rank) from {{ ref('int_readings_ranked') }}
    where duplicate_rank > 1
),

final as (
    select
        'dsmr' as vendor,
        'readings' as dataset,
        partition_date,
        'duplicate DSMR reading timestamp (instance, measured_at): the highest reading_id is kept' as reason,
        cast(to_json(dsmr_readings) as varchar) as record,
        extracted_at,
        source_endpoint
    from dsmr_readings

    union all

    select
        'primayer' as vendor,
        'histogram_stats' as dataset,
        partition_date,
        'duplicate stg_primayer__histogram_stats key (serial, histogram_at)' as reason,
        cast(to_json(primayer_histograms) as varchar) as record,
        extracted_at,
        source_endpoint
    from primayer_histograms

    union all

    select
        vendor,
        'fct_reading' as dataset,
        partition_date,
        'duplicate fct_reading key (device_key, metric, aggregation, measured_at)' as reason,
        cast(to_json(readings) as varchar) as record,
        extracted_at,
        source_endpoint
    from readings
)

select * from final

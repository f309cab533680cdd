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

all_readings as (
    select * from {{ ref('int_readings_unioned') }}
),

-- Only a key held more than once has copies to hold back: such keys are found by grouping (a
-- hash aggregate, no sort), and only their rows are ranked, as int_readings_ranked ranks them,
-- rather than every reading of the history (about half the time at 10 M readings).
duplicated_keys as (
    select {{ reading_key_columns() }} from all_readings
    group by all
    having count(*) > 1
),

readings_of_duplicated_keys as (
    select
        r.*,
        {{ reading_duplicate_rank() }} as duplicate_rank
    from all_readings as r
    semi join duplicated_keys as k on {{ reading_key_matches('r', 'k') }}
),

readings as (
    select * exclude (duplicate_rank) from readings_of_duplicated_keys
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

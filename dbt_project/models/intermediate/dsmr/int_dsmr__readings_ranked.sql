-- DSMR readings ranked among those of the same meter and timestamp: DSMR-reader v5.11 may store
-- several readings with one timestamp (distinct ids). The highest reading id (the last one
-- stored) ranks 1 and feeds fct_reading; the others are quarantined, never both.
-- partition_date (the UTC day of measured_at) changes no group; only timestamps held more than
-- once are ranked, within the partition window: macros/rank_by_key.sql.
{{ rank_by_key(ref('stg_dsmr__readings'), ['partition_date', 'instance', 'measured_at'], 'reading_id desc') }}

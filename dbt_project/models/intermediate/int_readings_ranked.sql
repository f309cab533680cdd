-- Candidate rows of fct_reading ranked among those with the same key (device_key, metric,
-- aggregation, measured_at). Rank 1 is the row fct_reading keeps; the others are quarantined
-- (int_duplicate_records_unioned), so one vendor's duplicates never fail the mart's uniqueness
-- test for every vendor.
-- Ranked within a partition day (every vendor lands a value under the one day of its
-- measured_at). Key and tiebreak: macros/reading_key.sql; only keys held more than once are
-- ranked, within the partition window: macros/rank_by_key.sql.
{{ rank_by_key(ref('int_readings_unioned'), reading_key_list(), reading_rank_order()) }}

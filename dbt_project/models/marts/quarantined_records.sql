-- What was held back and why, for every vendor, so analysts see the gaps: records extraction
-- refused at landing, and rows dbt kept out of a mart because they broke its contract (the
-- extra copies of a duplicate key; the kept copy is in the mart).
with extraction as (
    select * from {{ ref('stg_quarantine__records') }}
),

duplicates as (
    select * from {{ ref('int_duplicate_records_unioned') }}
),

records as (
    select vendor, dataset, partition_date, reason, record, extracted_at, source_endpoint, 'landing' as held_back_at
    from extraction
    union all
    select vendor, dataset, partition_date, reason, record, extracted_at, source_endpoint, 'warehouse' as held_back_at
    from duplicates
),

final as (
    select
        vendor,
        dataset,
        partition_date,
        reason,
        record,
        extracted_at,
        source_endpoint,
        held_back_at
    from records
)

select * from final

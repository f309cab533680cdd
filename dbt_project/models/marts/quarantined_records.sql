-- What extraction held back and why, for every vendor, so analysts see the gaps.
with records as (
    select * from {{ ref('stg_quarantine__records') }}
),

final as (
    select
        vendor,
        dataset,
        partition_date,
        reason,
        record,
        extracted_at,
        source_endpoint
    from records
)

select * from final

with source as (
    select * from {{ source('primayer', 'histogram_bins') }}
),

renamed as (
    select
        serial,
        cast(epoch_at as timestamptz) as epoch_at,
        cast(histogram_at as timestamptz) as histogram_at,
        bin,
        "count" as sample_count,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at
    from source
)

select * from renamed

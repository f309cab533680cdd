with source as (
    select * from {{ source('primayer', 'histogram_stats') }}
),

renamed as (
    select
        serial,
        cast(epoch_at as timestamptz) as epoch_at,
        cast(histogram_at as timestamptz) as histogram_at,
        bin_count,
        total_samples,
        modal_bin,
        p10_bin,
        p50_bin,
        p90_bin,
        spread_bins,
        noise_level_share,
        leak_likely,
        cast("date" as date) as partition_date,
        cast(_extracted_at as timestamptz) as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

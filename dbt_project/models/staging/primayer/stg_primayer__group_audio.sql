with source as (
    select * from {{ source('primayer', 'group_audio') }}
),

renamed as (
    select
        cast(group_id as varchar) as group_id,
        serial,
        cast(recorded_at as timestamptz) as recorded_at,
        sample_count,
        sample_rate_hz,
        duration_s,
        rms,
        peak,
        dominant_frequency_hz,
        wav_path,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

with source as (
    select * from {{ source('dsmr', 'quarter_hour_peaks') }}
),

renamed as (
    select
        instance,
        peak_id,
        cast(read_at_start as timestamptz) as first_reading_at,
        cast(read_at_end as timestamptz) as last_reading_at,
        average_delivered as average_power_delivered_kw,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

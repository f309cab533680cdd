with source as (
    select * from {{ source('bagtower', 'kpis') }}
),

renamed as (
    select
        scope,
        device_id,
        kpi,
        source_field,
        period_days,
        cast(day_start as timestamptz) as day_start,
        value,
        -- when the service was asked: the company's periods end then
        cast(_extracted_at as timestamptz) as extracted_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

-- The logger CSV report; columns the pipeline does not know stay in the landed Parquet.
with source as (
    select * from {{ source('primayer', 'logger_report') }}
),

renamed as (
    select
        serial,
        name as logger_name,
        cast(group_id as varchar) as group_id,
        group_name,
        latitude,
        longitude,
        battery_pct,
        lower(status) as status,
        last_upload as last_upload_local,
        cast("date" as date) as report_date
    from source
)

select * from renamed

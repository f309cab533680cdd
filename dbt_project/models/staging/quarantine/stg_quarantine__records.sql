with source as (
    select * from {{ source('quarantine', 'records') }}
),

renamed as (
    select
        regexp_extract(filename, '/quarantine/([^/]+)/([^/]+)/date=', 1) as vendor,
        regexp_extract(filename, '/quarantine/([^/]+)/([^/]+)/date=', 2) as dataset,
        cast("date" as date) as partition_date,
        record,
        reason,
        _extracted_at as extracted_at,
        _source as source_endpoint
    from source
)

select * from renamed

-- The Phocus DMA CSV report over each UTC day; unknown columns stay in the landed Parquet.
with source as (
    select * from {{ source('primayer', 'dma_report') }}
),

renamed as (
    select
        dma,
        loggers as logger_count,
        leak_loggers as leak_logger_count,
        quiet_loggers as quiet_logger_count,
        period_start as period_start_local,
        period_end as period_end_local,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

-- BAXO historic tag values in the shape of fct_reading, tags mapped to metrics and units.
with historics as (
    select * from {{ ref('stg_baxo__device_historics') }}
),

tag_metrics as (
    select * from {{ ref('baxo_tag_metrics') }}
),

final as (
    select
        {{ device_key("'baxo'", "historics.device_id") }} as device_key,
        'baxo' as vendor,
        coalesce(tag_metrics.metric, lower(historics.tag_reference)) as metric,
        historics.measured_at,
        historics.value,
        -- a tag, key or metric no seed maps still lands, with unit 'unknown' (a warn test names it)
        coalesce(tag_metrics.unit, 'unknown') as unit,
        historics.source,
        'none' as aggregation,
        historics.partition_date,
        historics.extracted_at,
        historics.source_endpoint
    from historics
    left join tag_metrics on historics.tag_reference = tag_metrics.tag_reference
)

select * from final

-- Every vendor's readings in the shape of fct_reading, with metric names and units mapped.
with baxo_historics as (
    select * from {{ ref('stg_baxo__device_historics') }}
),

baxo_tag_metrics as (
    select * from {{ ref('baxo_tag_metrics') }}
),

baxo as (
    select
        {{ device_key("'baxo'", "historics.device_id") }} as device_key,
        'baxo' as vendor,
        coalesce(tags.metric, lower(historics.tag_reference)) as metric,
        historics.measured_at,
        historics.value,
        tags.unit,
        historics.source,
        historics.partition_date
    from baxo_historics as historics
    left join baxo_tag_metrics as tags on historics.tag_reference = tags.tag_reference
)

select * from baxo

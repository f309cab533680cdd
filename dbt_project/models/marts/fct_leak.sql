-- Leak findings of leak-logger groups, one row per finding and report date. Each vendor with
-- leak findings adds its int_<vendor>__leaks model to the list.
{% set vendor_models = ['int_primayer__leaks'] %}

with leaks as (
    {% for model in vendor_models %}
    select
        leak_key, vendor, group_id, group_name, detected_on, left_device_key, right_device_key,
        distance_from_left_m, confidence, group_leak_count
    from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        leak_key,
        vendor,
        group_id,
        group_name,
        detected_on,
        left_device_key,
        right_device_key,
        distance_from_left_m,
        confidence,
        group_leak_count
    from leaks
)

select * from final

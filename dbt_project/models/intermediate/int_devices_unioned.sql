-- Every vendor's devices in one shape; each vendor adds its int_<vendor>__devices to the list.
{% set vendor_models = ['int_baxo__devices', 'int_bagtower__devices', 'int_dsmr__devices', 'int_encloud__devices', 'int_primayer__devices'] %}

{% for model in vendor_models %}
select
    vendor, native_id, name, kind, status, timezone, latitude, longitude, group_name,
    first_seen_at, last_seen_at
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}

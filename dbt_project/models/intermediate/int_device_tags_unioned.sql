-- Device tags of the vendors that have them; each such vendor adds its int_<vendor>__device_tags.
{% set vendor_models = ['int_bagtower__device_tags'] %}

{% for model in vendor_models %}
select vendor, native_id, tags
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}

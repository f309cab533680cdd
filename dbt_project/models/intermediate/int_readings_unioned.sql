-- Every vendor's readings in the shape of fct_reading; each vendor adds its int_<vendor>__readings.
{% set vendor_models = ['int_baxo__readings', 'int_bagtower__readings', 'int_dsmr__readings', 'int_encloud__readings', 'int_primayer__readings'] %}

{% for model in vendor_models %}
select device_key, vendor, metric, measured_at, value, unit, source, partition_date, extracted_at, source_endpoint
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}

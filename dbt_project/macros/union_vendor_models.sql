{#- Every vendor's `int_<vendor>__<entity>` in one relation, with the same columns. The vendors
    are the project var `vendors` (one list, as in the pipelines' VENDORS), or the ones given. -#}
{% macro union_vendor_models(entity, columns, vendors=none) -%}
{%- for vendor in (vendors or var('vendors')) %}
select {{ columns | join(', ') }}
from {{ ref('int_' ~ vendor ~ '__' ~ entity) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

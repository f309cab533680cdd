{#- A model's schema is exactly its folder's `+schema` (staging, intermediate, marts, seeds), not
    dbt's default `<target schema>_<custom>`: analysts find the marts in `marts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

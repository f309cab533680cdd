{% macro device_key(vendor, native_id) -%}
    md5({{ vendor }} || ':' || {{ native_id }})
{%- endmacro %}

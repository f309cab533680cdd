{#- The key of anything a vendor identifies (a device, an issue): md5 of vendor || ':' || native_id. -#}
{% macro vendor_key(vendor, native_id) -%}
    md5({{ vendor }} || ':' || {{ native_id }})
{%- endmacro %}

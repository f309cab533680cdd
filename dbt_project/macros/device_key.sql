{#- A device's key in every mart (`vendor_key` of the vendor and the device's own id). -#}
{% macro device_key(vendor, native_id) -%}
    {{ vendor_key(vendor, native_id) }}
{%- endmacro %}

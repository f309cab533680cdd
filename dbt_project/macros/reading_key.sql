{#- The fct_reading key, and the order of the rows sharing it: the first lands
    (int_readings_ranked), the others are held back (int_duplicate_records_unioned). One
    definition, so the duplicate search never holds back the row fct_reading keeps.
    Tiebreak, so every rebuild keeps the same row: the latest landing (extracted_at), then the
    larger value, then unit and source. -#}
{% macro reading_key_list() -%}
    {{ return(['partition_date', 'device_key', 'metric', 'aggregation', 'measured_at']) }}
{%- endmacro %}

{% macro reading_rank_order() -%}
    extracted_at desc nulls last, value desc nulls last, unit, source
{%- endmacro %}

{#- The fct_reading key, and the rank of a row among those sharing it: rank 1 is the row that
    lands (int_readings_ranked), the others are held back (int_duplicate_records_unioned). One
    definition, so the duplicate search never holds back the row fct_reading keeps.
    Tiebreak, so every rebuild keeps the same row: the latest landing (extracted_at), then the
    larger value, then unit and source. -#}
{% macro reading_key_list() -%}
    {{ return(['partition_date', 'device_key', 'metric', 'aggregation', 'measured_at']) }}
{%- endmacro %}

{% macro reading_key_columns() -%}
    {{ reading_key_list() | join(', ') }}
{%- endmacro %}

{#- Rows of `left` and `right` share a key; a null key part matches a null, as the rank's
    `partition by` groups them. -#}
{% macro reading_key_matches(left, right) -%}
    {%- for column in reading_key_list() -%}
        {{ left }}.{{ column }} is not distinct from {{ right }}.{{ column }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}

{% macro reading_duplicate_rank() -%}
    row_number() over (
        partition by {{ reading_key_columns() }}
        order by extracted_at desc nulls last, value desc nulls last, unit, source
    )
{%- endmacro %}

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

{#- One 64-bit hash of a row's key. Rows of one key share it (a null key part hashes alike, as
    the rank's `partition by` groups nulls together); rows of different keys rarely do. Grouping
    by it finds the keys held more than once at about half the cost of grouping by the five
    columns; a hash shared by chance only ranks a few more rows (each first of its own key). -#}
{% macro reading_key_hash() -%}
    hash({{ reading_key_columns() }})
{%- endmacro %}

{% macro reading_duplicate_rank() -%}
    row_number() over (
        partition by {{ reading_key_columns() }}
        order by extracted_at desc nulls last, value desc nulls last, unit, source
    )
{%- endmacro %}

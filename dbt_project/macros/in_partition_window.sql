{#- The partition window of an incremental run, as a SQL predicate on a date column. -#}
{% macro in_partition_window(column) -%}
    {{ column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
{%- endmacro %}

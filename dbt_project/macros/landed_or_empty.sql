{#- Select a landed source, or an empty relation with `columns` ({name: type}) while nothing of it
    has landed yet, so a warehouse with only some vendors' data still builds. -#}
{% macro landed_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = 1 -%}
    {%- if execute -%}
        {%- set pattern = env_var('PIPELINES_DATA_DIR') ~ '/landing/' ~ source_name ~ '/' ~ table_name ~ '/date=*/*.parquet' -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        select * from {{ relation }}
    {%- else -%}
        select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where false
    {%- endif -%}
{%- endmacro %}

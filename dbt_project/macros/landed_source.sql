{#-
    A landed source, or an empty relation of the given columns when nothing has landed for it yet,
    so one vendor's datasets can be built before another vendor has ever run (read_parquet fails on
    a glob that matches no file). At parse time (`execute` false) the source is always referenced,
    so lineage, and the Dagster asset graph built from it, keep the dependency.
-#}
{% macro landed_source(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and not landing_has_files(source_name, table_name) -%}
        (select
            {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
            {%- endfor %}
        where false)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro landing_has_files(source_name, table_name) -%}
    {%- set pattern = env_var('PIPELINES_DATA_DIR') ~ '/landing/' ~ source_name ~ '/' ~ table_name ~ '/date=*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {{- return(found.columns[0].values()[0] > 0) -}}
{%- endmacro %}

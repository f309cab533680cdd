{#- The partition window of an incremental run, as a SQL predicate on a date column.

    The window is read at run time from DuckDB variables (`partition_min_date`,
    `partition_max_date`) that the lake's dbt plugin sets on every connection from
    PIPELINES_PARTITION_MIN_DATE / PIPELINES_PARTITION_MAX_DATE (pipelines/lake_dbt_plugin.py).
    Not dbt vars: any change of `--vars` makes dbt drop its partial parse and re-parse the whole
    project (5-13 s here), so a daily run passing its day as vars paid a full parse each time.
    Without the variables every day is in the window (a full build). Vars `min_date`/`max_date`
    still override, for a hand-run `dbt build --vars ...` (at the price of that parse). -#}
{% macro in_partition_window(column) -%}
    {{ column }} between {{ partition_window_bound('min_date', '1900-01-01') }}
        and {{ partition_window_bound('max_date', '2999-12-31') }}
{%- endmacro %}

{% macro partition_window_bound(name, unbounded) -%}
    {%- if var(name, none) is not none -%}
        cast('{{ var(name) }}' as date)
    {%- else -%}
        coalesce(try_cast(getvariable('partition_{{ name }}') as date), date '{{ unbounded }}')
    {%- endif -%}
{%- endmacro %}

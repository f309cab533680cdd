{% test columns_not_null(model, columns) %}
{#- Every listed column is never null, checked in one scan of the model: one test per model
    instead of dbt's `not_null` per column, which scanned the model (a staging view: its landed
    Parquet) once per column and cost dbt a node each. A failing row names a column and counts
    its null rows. -#}
with null_rows as (
    select
        {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}
)

select column_name, null_rows
from (unpivot null_rows on columns(*) into name column_name value null_rows)
where null_rows > 0
{% endtest %}

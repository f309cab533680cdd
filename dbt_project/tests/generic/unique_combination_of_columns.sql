{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- No packages here (dbt Hub is unreachable), so this is the one dbt_utils test we need.
    Rows of one combination share its hash; so only the rows of a hash held more than once are
    grouped by their columns. Grouping every row by one 64-bit hash costs about half of grouping
    by the columns (on fct_reading, where nearly every combination is unique); a hash shared by
    chance adds a few rows to the second grouping, never a failure. -#}
{%- set columns = combination_of_columns | join(', ') %}
with hashed as (
    select {{ columns }}, hash({{ columns }}) as combination_hash
    from {{ model }}
),

shared_hashes as (
    select combination_hash from hashed
    group by combination_hash
    having count(*) > 1
)

select {{ columns }}, count(*) as occurrences
from hashed
semi join shared_hashes using (combination_hash)
group by {{ columns }}
having count(*) > 1
{% endtest %}

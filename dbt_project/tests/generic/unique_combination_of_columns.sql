{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- No packages here (dbt Hub is unreachable), so this is the one dbt_utils test we need. -#}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

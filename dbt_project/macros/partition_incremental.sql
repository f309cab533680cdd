{#- The facts' materialization: incremental by landing partition. A run deletes the days of its
    partition window (in_partition_window), then appends them again, so re-running a day never duplicates
    and a day emptied at the source empties here too. -#}
{% macro partition_incremental() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_partition_window('partition_date') }}{% endif %}"
    ) }}
{%- endmacro %}

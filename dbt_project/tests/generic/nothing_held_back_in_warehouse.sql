{#- Warns with the rows a vendor had kept out of the marts by their contracts (duplicate keys):
    one check per vendor, so a vendor's bad rows show against that vendor only. -#}
{% test nothing_held_back_in_warehouse(model, vendor) %}
select vendor, dataset, partition_date, reason, record
from {{ model }}
where held_back_at = 'warehouse' and vendor = '{{ vendor }}'
{% endtest %}

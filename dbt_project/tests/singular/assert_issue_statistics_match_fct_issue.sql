-- Bagtower's own issue statistics of the latest snapshot count as many issues as fct_issue holds
-- for the same window, in total, per cause and per device group. A difference means issues the
-- warehouse misses (or still holds after the vendor changed them): the weekly full re-sync of
-- the issues brings them back. A warning: the two snapshots are taken at different moments, so
-- an issue opening in between differs for a day.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_issue_statistics'}}}) }}

with latest as (
    select * from {{ ref('fct_issue_statistics') }}
    where snapshot_date = (select max(snapshot_date) from {{ ref('fct_issue_statistics') }})
)

select breakdown, member, cause_id, issue_count, warehouse_issue_count
from latest
where breakdown in ('total', 'cause', 'group')
    and issue_count is distinct from warehouse_issue_count

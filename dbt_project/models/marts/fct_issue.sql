-- One row per issue (alert). Bagtower is the vendor with issues; its issues land once per
-- modification, and int_bagtower__issues keeps the latest version, so an issue that opened in
-- one partition and closed in a later one is one row, closed.
with issues as (
    select * from {{ ref('int_bagtower__issues') }}
),

currencies as (
    select * from {{ ref('cost_currencies') }}
),

final as (
    select
        {{ vendor_key("'bagtower'", "issue_id") }} as issue_key,
        'bagtower' as vendor,
        issue_id as native_id,
        {{ device_key("'bagtower'", "device_id") }} as device_key,
        title,
        status,
        started_at,
        stopped_at,
        cast(epoch(stopped_at) - epoch(started_at) as double) as duration_s,
        cost,
        (select currency from currencies where vendor = 'bagtower') as currency,
        cause,
        solution,
        monitor_id,
        kanban_stage
    from issues
)

select * from final

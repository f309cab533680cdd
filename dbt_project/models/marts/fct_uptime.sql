-- Availability as Bagtower's KPIs state it: the company's uptime over the last 1, 7, 30, 90 and
-- 365 days as of each snapshot, and each device's up, down, uncoded and other-alert time per
-- UTC day. A device day seen by several snapshots keeps the latest (today's grows during the day).
with kpis as (
    select * from {{ ref('stg_bagtower__kpis') }}
),

company as (
    select
        'company' as scope,
        cast(null as varchar) as device_id,
        extracted_at - to_days(cast(period_days as integer)) as period_start,
        extracted_at as period_end,
        period_days,
        value as uptime_pct,
        cast(null as double) as up_time_s,
        cast(null as double) as down_time_s,
        cast(null as double) as uncoded_time_s,
        cast(null as double) as other_alerts_time_s,
        extracted_at,
        snapshot_date
    from kpis
    where scope = 'company' and kpi = 'uptime_pct'
),

device_days as (
    select
        'device' as scope,
        device_id,
        day_start as period_start,
        day_start + interval 1 day as period_end,
        1 as period_days,
        max(value) filter (where kpi = 'uptime_pct') as uptime_pct,
        max(value) filter (where kpi = 'up_time_s') as up_time_s,
        max(value) filter (where kpi = 'down_time_s') as down_time_s,
        max(value) filter (where kpi = 'uncoded_time_s') as uncoded_time_s,
        max(value) filter (where kpi = 'other_alerts_time_s') as other_alerts_time_s,
        extracted_at,
        snapshot_date
    from kpis
    where scope = 'device'
    group by device_id, day_start, extracted_at, snapshot_date
    qualify row_number() over (partition by device_id, day_start order by extracted_at desc) = 1
),

periods as (
    select * from company
    union all by name
    select * from device_days
),

final as (
    select
        'bagtower' as vendor,
        scope,
        case when device_id is not null then {{ device_key("'bagtower'", "device_id") }} end as device_key,
        period_start,
        period_end,
        period_days,
        uptime_pct,
        up_time_s,
        down_time_s,
        uncoded_time_s,
        other_alerts_time_s,
        -- a period still running when the service was asked (today) is not complete
        period_end <= extracted_at as is_complete,
        extracted_at as measured_at,
        snapshot_date
    from periods
)

select * from final

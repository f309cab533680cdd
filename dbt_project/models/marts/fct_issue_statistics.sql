-- Bagtower's own issue statistics (what its dashboard shows) per snapshot: the totals, each
-- cause and each device group, and each day of the window, one row per member with its
-- measures side by side. Beside the vendor's counts, `warehouse_issue_count` counts the issues
-- of fct_issue in the same window and member: the two agree when nothing was missed.
with statistics as (
    select * from {{ ref('stg_bagtower__issue_statistics') }}
),

issues as (
    select * from {{ ref('fct_issue') }}
    where vendor = 'bagtower'
),

devices as (
    select device_key, group_name from {{ ref('dim_device') }}
),

members as (
    select
        snapshot_date,
        any_value(window_start) as window_start,
        any_value(window_end) as window_end,
        breakdown,
        label as member,
        cause_id,
        cast(bucket_at as date) as day,
        sum(value) filter (where measure = 'count') as issue_count,
        sum(previous_value) filter (where measure = 'count') as previous_issue_count,
        sum(value) filter (where measure = 'offline_count') as offline_issue_count,
        sum(value) filter (where measure = 'cost') as cost,
        sum(previous_value) filter (where measure = 'cost') as previous_cost,
        sum(value) filter (where measure = 'duration') as duration_s,
        sum(previous_value) filter (where measure = 'duration') as previous_duration_s,
        sum(value) filter (where measure = 'offline_duration') as offline_duration_s,
        sum(value) filter (where measure = 'mttr') as mean_time_to_repair_s,
        any_value(currency) as currency
    from statistics
    group by snapshot_date, breakdown, label, cause_id, cast(bucket_at as date)
),

-- Each fct_issue issue under every member it counts for: the total, its cause, its group.
issue_members as (
    select
        issues.started_at,
        issues.stopped_at,
        unnest([
            {'breakdown': 'total', 'member': null},
            {'breakdown': 'cause', 'member': coalesce(issues.cause, '(no cause)')},
            {'breakdown': 'group', 'member': devices.group_name}
        ]) as m
    from issues
    left join devices on issues.device_key = devices.device_key
),

warehouse_counts as (
    select
        members.snapshot_date,
        members.breakdown,
        members.member,
        members.cause_id,
        count(issue_members.started_at) as warehouse_issue_count
    from members
    left join issue_members
        on members.breakdown = issue_members.m.breakdown
        -- a by-cause item without a cause id is the vendor's row for issues without a cause
        and (
            (members.breakdown = 'cause' and members.cause_id is null and issue_members.m.member = '(no cause)')
            or issue_members.m.member is not distinct from members.member
        )
        -- issues whose [start, stop] overlaps the window, as the statistics count them
        and issue_members.started_at <= members.window_end
        and coalesce(issue_members.stopped_at, 'infinity'::timestamptz) >= members.window_start
    where members.breakdown in ('total', 'cause', 'group')
    group by members.snapshot_date, members.breakdown, members.member, members.cause_id
),

final as (
    select
        'bagtower' as vendor,
        members.snapshot_date,
        members.window_start,
        members.window_end,
        members.breakdown,
        members.member,
        members.cause_id,
        members.day,
        members.issue_count,
        members.previous_issue_count,
        members.offline_issue_count,
        members.cost,
        members.previous_cost,
        members.currency,
        members.duration_s,
        members.previous_duration_s,
        members.offline_duration_s,
        members.mean_time_to_repair_s,
        warehouse_counts.warehouse_issue_count
    from members
    left join warehouse_counts
        on members.snapshot_date = warehouse_counts.snapshot_date
        and members.breakdown = warehouse_counts.breakdown
        and members.member is not distinct from warehouse_counts.member
        and members.cause_id is not distinct from warehouse_counts.cause_id
)

select * from final

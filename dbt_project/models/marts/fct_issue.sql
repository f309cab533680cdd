-- Issues (alerts). Bagtower fills this mart; BAXO has none, so it starts empty with its
-- contract's columns and types.
with final as (
    select
        cast(null as varchar) as issue_key,
        cast(null as varchar) as vendor,
        cast(null as varchar) as native_id,
        cast(null as varchar) as device_key,
        cast(null as varchar) as title,
        cast(null as varchar) as status,
        cast(null as timestamptz) as started_at,
        cast(null as timestamptz) as stopped_at,
        cast(null as double) as duration_s,
        cast(null as double) as cost,
        cast(null as varchar) as cause,
        cast(null as varchar) as solution,
        cast(null as varchar) as monitor_id,
        cast(null as varchar) as kanban_stage
    where false
)

select * from final

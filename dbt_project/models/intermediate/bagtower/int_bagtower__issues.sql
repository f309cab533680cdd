-- The latest version of each Bagtower issue (issues land under the day of their last
-- modification, so an issue that changed lands again), with cause, solution and stage named.
with versions as (
    select * from {{ ref('stg_bagtower__issues') }}
),

latest as (
    select * from versions
    qualify row_number() over (partition by issue_id order by modified_at desc, extracted_at desc) = 1
),

causes as (
    select * from {{ ref('stg_bagtower__causes') }}
    qualify row_number() over (partition by cause_id order by snapshot_date desc) = 1
),

solutions as (
    select * from {{ ref('stg_bagtower__solutions') }}
    qualify row_number() over (partition by solution_id order by snapshot_date desc) = 1
),

stages as (
    select * from {{ ref('stg_bagtower__kanban_stages') }}
    qualify row_number() over (partition by stage_id order by snapshot_date desc) = 1
),

final as (
    select
        latest.issue_id,
        latest.device_id,
        latest.title,
        case
            when latest.is_archived then 'archived'
            when latest.is_open then 'open'
            else 'closed'
        end as status,
        latest.started_at,
        latest.stopped_at,
        latest.cost,
        coalesce(causes.cause_title, latest.cause_text) as cause,
        solutions.solution_title as solution,
        latest.monitor_id,
        coalesce(stages.stage_name, latest.kanban_stage_id) as kanban_stage,
        latest.modified_at
    from latest
    left join causes on latest.cause_id = causes.cause_id
    left join solutions on latest.solution_id = solutions.solution_id
    left join stages on latest.kanban_stage_id = stages.stage_id
)

select * from final

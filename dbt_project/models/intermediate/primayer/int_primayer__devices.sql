-- Primayer loggers in the shape of int_devices_unioned: name, group and status from the latest
-- logger report, position and zone from the latest epoch, and every serial a leak or clip names.
with epochs as (
    select * from {{ ref('stg_primayer__logger_epochs') }}
),

reports as (
    select * from {{ ref('stg_primayer__logger_reports') }}
    qualify row_number() over (partition by serial order by report_date desc) = 1
),

leaks as (
    select * from {{ ref('stg_primayer__group_leaks') }}
),

summaries as (
    select * from {{ ref('stg_primayer__group_summaries') }}
    qualify row_number() over (partition by group_id order by report_date desc) = 1
),

serials as (
    select serial from epochs
    union
    select serial from reports
    union
    select left_serial from leaks
    union
    select right_serial from leaks
    union
    select serial from {{ ref('stg_primayer__group_audio') }}
),

latest_epochs as (
    select * from epochs
    qualify row_number() over (partition by serial order by measured_at desc) = 1
),

seen as (
    select serial, min(measured_at) as first_seen_at, max(measured_at) as last_seen_at
    from epochs
    group by serial
),

final as (
    select
        'primayer' as vendor,
        serials.serial as native_id,
        coalesce(reports.logger_name, 'Phocus ' || serials.serial) as name,
        'leak_logger' as kind,
        reports.status,
        -- one fleet, one zone: loggers only named by reports or leaks share it
        coalesce(latest_epochs.timezone, (select max(timezone) from epochs)) as timezone,
        coalesce(latest_epochs.latitude, reports.latitude) as latitude,
        coalesce(latest_epochs.longitude, reports.longitude) as longitude,
        coalesce(reports.group_name, summaries.group_name) as group_name,
        seen.first_seen_at,
        seen.last_seen_at
    from serials
    left join reports on serials.serial = reports.serial
    left join latest_epochs on serials.serial = latest_epochs.serial
    left join seen on serials.serial = seen.serial
    left join summaries on reports.group_id = summaries.group_id
    where serials.serial is not null
)

select * from final

-- Primayer Enigma leak findings in the shape of fct_leak, with the group's name and the leak
-- count its summary reported for the same date.
with leaks as (
    select * from {{ ref('stg_primayer__group_leaks') }}
),

summaries as (
    select * from {{ ref('stg_primayer__group_summaries') }}
),

final as (
    select
        md5(
            'primayer:' || leaks.group_id || ':' || cast(leaks.partition_date as varchar)
            || ':' || leaks.left_serial || ':' || leaks.right_serial
        ) as leak_key,
        'primayer' as vendor,
        leaks.group_id,
        summaries.group_name,
        coalesce(leaks.detected_on, leaks.partition_date) as detected_on,
        {{ device_key("'primayer'", "leaks.left_serial") }} as left_device_key,
        {{ device_key("'primayer'", "leaks.right_serial") }} as right_device_key,
        cast(leaks.distance_from_left_m as double) as distance_from_left_m,
        cast(leaks.confidence as double) as confidence,
        summaries.leak_count as group_leak_count
    from leaks
    left join summaries
        on leaks.group_id = summaries.group_id and leaks.partition_date = summaries.partition_date
)

select * from final

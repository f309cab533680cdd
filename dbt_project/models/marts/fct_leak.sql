-- Leak findings. Primayer's Enigma groups fill this mart; BAXO has none, so it starts empty
-- with its contract's columns and types.
with final as (
    select
        cast(null as varchar) as leak_key,
        cast(null as varchar) as vendor,
        cast(null as varchar) as group_id,
        cast(null as varchar) as group_name,
        cast(null as date) as detected_on,
        cast(null as varchar) as left_device_key,
        cast(null as varchar) as right_device_key,
        cast(null as double) as distance_from_left_m,
        cast(null as double) as confidence
    where false
)

select * from final

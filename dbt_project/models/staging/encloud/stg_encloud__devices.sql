with source as (
    select * from {{ source('encloud', 'devices') }}
),

renamed as (
    select
        device_uid,
        customer_id,
        sim_id,
        latitude,
        longitude,
        frequency_s,
        cast(created_at as timestamptz) as created_at,
        cast(updated_at as timestamptz) as updated_at,
        location_string,
        -- 'Waiting For Response' -> 'waiting_for_response': lower case like every dim_device status
        replace(lower(state), ' ', '_') as state,
        cast(last_seen_at as timestamptz) as last_seen_at,
        cast(as_of as timestamptz) as as_of,
        cast("date" as date) as partition_date
    from source
)

select * from renamed

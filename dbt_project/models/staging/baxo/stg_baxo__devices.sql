with source as (
    {{ landed_or_empty('baxo', 'devices', {
            'device_id': 'varchar',
            'contract_id': 'varchar',
            'name': 'varchar',
            'details': 'varchar',
            'status': 'bigint',
            'timezone': 'varchar',
            'date': 'varchar'
    }) }}
),

renamed as (
    select
        device_id,
        contract_id,
        name as device_name,
        details,
        case status when 0 then 'active' when 1 then 'inactive' when 2 then 'suspended' end as status,
        timezone as timezone_label,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

with source as (
    {{ landed_or_empty('baxo', 'contracts', {
            'contract_id': 'varchar',
            'reference': 'varchar',
            'company': 'varchar',
            'details': 'varchar',
            'contact_email': 'varchar',
            'date': 'varchar'
    }) }}
),

renamed as (
    select
        contract_id,
        reference as contract_reference,
        company,
        details,
        contact_email,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

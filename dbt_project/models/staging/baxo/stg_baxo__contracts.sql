with source as (
    select * from {{ source('baxo', 'contracts') }}
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

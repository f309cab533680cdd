-- A meter's price contracts never apply on the same day twice: each window ends on or before
-- the next one starts, and none is empty.
with windows as (
    select
        device_key,
        contract_id,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by device_key order by valid_from, contract_id) as next_valid_from
    from {{ ref('dim_energy_price') }}
)

select * from windows
where valid_to <= valid_from or valid_to > next_valid_from

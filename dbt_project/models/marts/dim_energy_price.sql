-- Energy price contracts as a slowly changing dimension: one row per meter and contract with
-- the days it applies, [valid_from, valid_to). DSMR-reader's `end` is inclusive, so valid_to is
-- the day after it; a contract entered overlapping the next one is cut at the next one's start,
-- so every day of a meter has at most one price (DSMR-reader itself expects no overlap).
with latest_snapshot as (
    select * from {{ ref('stg_dsmr__energy_supplier_prices') }}
    qualify snapshot_date = max(snapshot_date) over (partition by instance)
),

currencies as (
    select * from {{ ref('cost_currencies') }}
),

windows as (
    select
        *,
        least(
            end_date + 1,
            coalesce(
                lead(start_date) over (partition by instance order by start_date, contract_id),
                end_date + 1
            )
        ) as valid_to
    from latest_snapshot
),

final as (
    select
        {{ vendor_key("'dsmr'", "instance || ':' || cast(contract_id as varchar)") }} as energy_price_key,
        {{ device_key("'dsmr'", "instance") }} as device_key,
        'dsmr' as vendor,
        contract_id,
        description,
        start_date as valid_from,
        cast(valid_to as date) as valid_to,
        electricity_tariff1_price,
        electricity_tariff2_price,
        electricity_returned_tariff1_price,
        electricity_returned_tariff2_price,
        gas_price,
        fixed_daily_cost,
        (select currency from currencies where vendor = 'dsmr') as currency,
        snapshot_date
    from windows
    -- A contract wholly inside the next one's start has no day left of its own.
    where valid_to > start_date
)

select * from final

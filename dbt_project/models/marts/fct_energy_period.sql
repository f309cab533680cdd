{{ partition_incremental() }}
-- Energy per meter and period: DSMR-reader's hour and day statistics in one shape.
-- A day is the meter's local day (23 or 25 hours on DST days): it starts at local midnight.
-- Incremental by partition like fct_reading: a run replaces exactly the days of its window.
-- The prices of the contract that applies on the period's local date explain its costs; a
-- re-run of a day picks up contracts entered since.
-- depends_on: {{ ref('dim_device') }}
with meters as (
    select * from {{ ref('stg_dsmr__meters') }}
    qualify row_number() over (partition by instance order by snapshot_date desc) = 1
),

hours as (
    select
        instance,
        'hour' as period,
        hour_start as period_start,
        hour_start + interval 1 hour as period_end,
        electricity_delivered_tariff1_kwh,
        electricity_delivered_tariff2_kwh,
        electricity_returned_tariff1_kwh,
        electricity_returned_tariff2_kwh,
        gas_m3,
        cast(null as decimal(12, 2)) as electricity_tariff1_cost,
        cast(null as decimal(12, 2)) as electricity_tariff2_cost,
        cast(null as decimal(12, 2)) as gas_cost,
        cast(null as decimal(12, 2)) as fixed_cost,
        cast(null as decimal(12, 2)) as total_cost,
        cast(null as decimal(6, 1)) as temperature_min_degc,
        cast(null as decimal(6, 1)) as temperature_max_degc,
        cast(null as decimal(6, 1)) as temperature_avg_degc,
        partition_date
    from {{ ref('stg_dsmr__hour_statistics') }}
),

days as (
    select
        days.instance,
        'day' as period,
        timezone(meters.timezone, cast(days.local_date as timestamp)) as period_start,
        timezone(meters.timezone, cast(days.local_date + 1 as timestamp)) as period_end,
        days.electricity_delivered_tariff1_kwh,
        days.electricity_delivered_tariff2_kwh,
        days.electricity_returned_tariff1_kwh,
        days.electricity_returned_tariff2_kwh,
        days.gas_m3,
        days.electricity_tariff1_cost,
        days.electricity_tariff2_cost,
        days.gas_cost,
        days.fixed_cost,
        days.total_cost,
        days.temperature_min_degc,
        days.temperature_max_degc,
        days.temperature_avg_degc,
        days.partition_date
    from {{ ref('stg_dsmr__day_statistics') }} as days
    inner join meters on days.instance = meters.instance
),

periods as (
    select * from hours
    union all
    select * from days
),

energy as (
    select
        {{ device_key("'dsmr'", "periods.instance") }} as device_key,
        'dsmr' as vendor,
        periods.period,
        periods.period_start,
        periods.period_end,
        cast(timezone(meters.timezone, periods.period_start) as date) as local_date,
        periods.electricity_delivered_tariff1_kwh,
        periods.electricity_delivered_tariff2_kwh,
        periods.electricity_returned_tariff1_kwh,
        periods.electricity_returned_tariff2_kwh,
        periods.electricity_delivered_tariff1_kwh + periods.electricity_delivered_tariff2_kwh as electricity_delivered_kwh,
        periods.electricity_returned_tariff1_kwh + periods.electricity_returned_tariff2_kwh as electricity_returned_kwh,
        periods.gas_m3,
        periods.electricity_tariff1_cost,
        periods.electricity_tariff2_cost,
        periods.gas_cost,
        periods.fixed_cost,
        periods.total_cost,
        periods.temperature_min_degc,
        periods.temperature_max_degc,
        periods.temperature_avg_degc,
        periods.partition_date
    from periods
    left join meters on periods.instance = meters.instance
    where {{ in_partition_window('periods.partition_date') }}
),

prices as (
    select * from {{ ref('dim_energy_price') }}
),

currencies as (
    select * from {{ ref('cost_currencies') }}
),

final as (
    select
        energy.*,
        prices.electricity_tariff1_price,
        prices.electricity_tariff2_price,
        prices.electricity_returned_tariff1_price,
        prices.electricity_returned_tariff2_price,
        prices.gas_price,
        prices.fixed_daily_cost,
        (select currency from currencies where vendor = 'dsmr') as currency
    from energy
    left join prices
        on
            energy.device_key = prices.device_key
            and energy.local_date >= prices.valid_from
            and energy.local_date < prices.valid_to
)

select * from final

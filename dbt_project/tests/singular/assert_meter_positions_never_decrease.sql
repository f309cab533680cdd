-- Cumulative meter positions (electricity per tariff, gas) of a smart meter never go down.
with positions as (
    select
        device_key,
        metric,
        measured_at,
        value,
        lag(value) over (partition by device_key, metric order by measured_at) as previous_value
    from {{ ref('fct_reading') }}
    where metric in (
        'electricity_delivered_tariff1', 'electricity_delivered_tariff2',
        'electricity_returned_tariff1', 'electricity_returned_tariff2', 'gas_delivered'
    )
)

select * from positions
where value < previous_value

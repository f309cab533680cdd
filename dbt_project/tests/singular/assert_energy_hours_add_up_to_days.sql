-- Where every hour of a local day is present, the hours add up to the day, per tariff.
with days as (
    select * from {{ ref('fct_energy_period') }} where period = 'day'
),

hours as (
    select
        device_key,
        local_date,
        count(*) as hours,
        sum(electricity_delivered_tariff1_kwh) as delivered1,
        sum(electricity_delivered_tariff2_kwh) as delivered2,
        sum(electricity_returned_tariff1_kwh) as returned1,
        sum(electricity_returned_tariff2_kwh) as returned2
    from {{ ref('fct_energy_period') }}
    where period = 'hour'
    group by device_key, local_date
)

select days.device_key, days.local_date
from days
inner join hours
    on days.device_key = hours.device_key and days.local_date = hours.local_date
where hours.hours = epoch(days.period_end - days.period_start) / 3600
    and (
        hours.delivered1 <> days.electricity_delivered_tariff1_kwh
        or hours.delivered2 <> days.electricity_delivered_tariff2_kwh
        or hours.returned1 <> days.electricity_returned_tariff1_kwh
        or hours.returned2 <> days.electricity_returned_tariff2_kwh
    )

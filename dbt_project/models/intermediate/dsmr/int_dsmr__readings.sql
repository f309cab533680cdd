-- DSMR readings in the shape of fct_reading: one row per meter, metric and instant.
-- Gas moves hourly, so each gas position is kept once, at its own timestamp and UTC day.
-- Of readings sharing a timestamp only the highest reading id is used (int_dsmr__readings_ranked).
with readings as (
    select * from {{ ref('int_dsmr__readings_ranked') }}
    where duplicate_rank = 1
),

electricity as (
    unpivot (
        select
            instance,
            measured_at,
            partition_date,
            extracted_at,
            source_endpoint,
            cast(electricity_delivered_tariff1_kwh as double) as electricity_delivered_tariff1,
            cast(electricity_delivered_tariff2_kwh as double) as electricity_delivered_tariff2,
            cast(electricity_returned_tariff1_kwh as double) as electricity_returned_tariff1,
            cast(electricity_returned_tariff2_kwh as double) as electricity_returned_tariff2,
            cast(power_delivered_kw as double) as power_delivered,
            cast(power_returned_kw as double) as power_returned,
            cast(power_delivered_l1_kw as double) as power_delivered_l1,
            cast(power_delivered_l2_kw as double) as power_delivered_l2,
            cast(power_delivered_l3_kw as double) as power_delivered_l3,
            cast(power_returned_l1_kw as double) as power_returned_l1,
            cast(power_returned_l2_kw as double) as power_returned_l2,
            cast(power_returned_l3_kw as double) as power_returned_l3,
            cast(voltage_l1_v as double) as voltage_l1,
            cast(voltage_l2_v as double) as voltage_l2,
            cast(voltage_l3_v as double) as voltage_l3
        from readings
    )
    on columns(* exclude (instance, measured_at, partition_date, extracted_at, source_endpoint))
    into name metric value value
),

gas as (
    select
        instance,
        gas_measured_at as measured_at,
        cast(gas_measured_at at time zone 'UTC' as date) as partition_date,
        extracted_at,
        source_endpoint,
        'gas_delivered' as metric,
        cast(gas_delivered_m3 as double) as value
    from readings
    where gas_measured_at is not null and gas_delivered_m3 is not null
    qualify row_number() over (partition by instance, gas_measured_at order by measured_at, reading_id) = 1
),

metrics as (
    select instance, measured_at, partition_date, extracted_at, source_endpoint, metric, value from electricity
    union all
    select instance, measured_at, partition_date, extracted_at, source_endpoint, metric, value from gas
),

dictionary as (
    select * from {{ ref('metric_dictionary') }}
),

final as (
    select
        {{ device_key("'dsmr'", "metrics.instance") }} as device_key,
        'dsmr' as vendor,
        metrics.metric,
        metrics.measured_at,
        metrics.value,
        -- a metric the dictionary lacks still lands, with unit 'unknown' (a warn test names it)
        coalesce(dictionary.unit, 'unknown') as unit,
        'device' as source,
        'none' as aggregation,
        metrics.partition_date,
        metrics.extracted_at,
        metrics.source_endpoint
    from metrics
    left join dictionary on metrics.metric = dictionary.metric
)

select * from final

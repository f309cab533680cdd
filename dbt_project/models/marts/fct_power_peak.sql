{{ partition_incremental() }}
-- Quarter-hour average power per meter: what capacity tariffs bill (the highest quarter of a
-- month). Quarters start on :00/:15/:30/:45 in UTC and in every zone (offsets are whole
-- quarters), so a quarter is found from its first reading by a 15-minute bucket.
-- Incremental by partition like fct_energy_period: a run replaces exactly the days of its window.
-- depends_on: {{ ref('dim_device') }}
with meters as (
    select * from {{ ref('stg_dsmr__meters') }}
    qualify row_number() over (partition by instance order by snapshot_date desc) = 1
),

peaks as (
    select
        *,
        time_bucket(interval 15 minute, first_reading_at) as peak_start
    from {{ ref('stg_dsmr__quarter_hour_peaks') }}
    where {{ in_partition_window('partition_date') }}
    -- One record per quarter even if an instance ever stored two: the newest id wins.
    qualify row_number() over (partition by instance, peak_start order by peak_id desc nulls last) = 1
),

final as (
    select
        {{ device_key("'dsmr'", "peaks.instance") }} as device_key,
        'dsmr' as vendor,
        peaks.peak_start,
        peaks.peak_start + interval 15 minute as peak_end,
        cast(timezone(meters.timezone, peaks.peak_start) as date) as local_date,
        peaks.first_reading_at,
        peaks.last_reading_at,
        peaks.average_power_delivered_kw,
        peaks.partition_date
    from peaks
    left join meters on peaks.instance = meters.instance
)

select * from final

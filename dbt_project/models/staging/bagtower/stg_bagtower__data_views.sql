with source as (
    select * from {{ source('bagtower', 'data_views') }}
),

renamed as (
    select
        view_id,
        device_id,
        name as view_name,
        share_type,
        share_value,
        position as view_position,
        show_unknown_graphs,
        graph_count,
        metric_ids,
        cast(graphs as json) as graphs,
        cast(_extracted_at as timestamptz) as extracted_at,
        cast("date" as date) as snapshot_date
    from source
)

select * from renamed

{#- The snapshots the warehouse holds: one row per snapshot with a staged record, numbered
    in date order, and how many records each source kind delivered for it. The record map
    (map_record_to_entity) expands its ranges over these snapshots. -#}
{%- set marketplaces = "('" ~ marketplace_ids() | join("', '") ~ "')" -%}

with

records as not materialized (
    select
        snapshot,
        source_id
    from {{ ref('int_records_unioned') }}
),

final as (
    select
        snapshot,
        row_number() over (order by snapshot) as snapshot_number,
        count(*) as records,
        count(*) filter (where source_id in {{ marketplaces }}) as marketplace_records,
        count(*) filter (where source_id not in {{ marketplaces }}) as list_records
    from records
    group by snapshot
)

select * from final

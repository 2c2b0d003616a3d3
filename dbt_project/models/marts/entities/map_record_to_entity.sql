{#- Every record of every snapshot -> its business (entity) and the rule that put it there:
    map_record_to_entity_ranges expanded over the snapshots of each range (dim_snapshot).
    A view: the same rows as the table it was before, stored once per range. -#}
{#- plan_fanout (the plan guard, umkm.transform.plans): a range expands to a row per snapshot
    it covers by design, at most the snapshots held; 36 is the three years the backfill
    loads. Planned on tables never analysed, the guard saw this join at 98.8 times its
    input with two snapshots. -#}
{{ config(materialized='view', meta={'plan_fanout': 36}) }}

with

ranges as (
    select * from {{ ref('map_record_to_entity_ranges') }}
),

-- the snapshots as one array, unnested below: the planner takes an unnested array for a
-- few rows whatever it knows of dim_snapshot (joined as a table never analysed, it was
-- planned at thousands of rows, each matching every range)
snapshot_list as (
    select array_agg(snapshot order by snapshot) as held from {{ ref('dim_snapshot') }}
),

final as (
    select
        snapshots.snapshot,
        ranges.source_id,
        ranges.record_id,
        ranges.entity_id,
        ranges.match_rule
    from ranges
    inner join unnest((select snapshot_list.held from snapshot_list)) as snapshots (snapshot)
        on snapshots.snapshot between ranges.first_snapshot and ranges.last_snapshot
)

select * from final

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

snapshots as (
    select snapshot from {{ ref('dim_snapshot') }}
),

final as (
    select
        snapshots.snapshot,
        ranges.source_id,
        ranges.record_id,
        ranges.entity_id,
        ranges.match_rule
    from ranges
    inner join snapshots
        on snapshots.snapshot between ranges.first_snapshot and ranges.last_snapshot
)

select * from final

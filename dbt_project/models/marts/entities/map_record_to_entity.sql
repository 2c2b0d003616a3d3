{#- Every record of every snapshot -> its business (entity) and the rule that put it there:
    map_record_to_entity_ranges expanded over the snapshots of each range (dim_snapshot).
    A view: the same rows as the table it was before, stored once per range. -#}
{#- plan_fanout (the plan guard, umkm.transform.plans): a range expands to a row per snapshot
    it covers by design, at most the snapshots held; 36 is the three years the backfill
    loads. Planned on tables never analysed, the guard saw this join at 98.8 times its
    input with two snapshots. -#}
{{ config(materialized='view', meta={'plan_fanout': 36}) }}

with

final as (
    {{ expand_snapshot_ranges(
        ref('map_record_to_entity_ranges'),
        ['source_id', 'record_id', 'entity_id', 'match_rule'],
    ) | indent(4) }}
)

select * from final

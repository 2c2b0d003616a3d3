{#- One row per snapshot and business (entity) seen on any list at that snapshot, with the
    sets of the bridge it belongs to (docs/BRIDGE.md), the lists that saw it and how many of
    its records each list holds. The bridge, the counts and the population marts read it:
    records are joined to their business once, in fct_umkm_entity_snapshot_ranges. A view
    that expands those ranges over dim_snapshot: the same rows as the table it was before,
    stored once per stretch of snapshots with the same facts. -#}
{#- plan_fanout (the plan guard, umkm.transform.plans): a range expands to a row per snapshot
    it covers by design, at most the snapshots held; 36 is the three years the backfill
    loads. The models and tests that read this view inherit it. -#}
{{ config(materialized='view', meta={'plan_fanout': 36}) }}

with

final as (
    {{ expand_snapshot_ranges(
        ref('fct_umkm_entity_snapshot_ranges'),
        ['entity_id'] + entity_snapshot_fact_names(),
    ) | indent(4) }}
)

select * from final

{#- One row per snapshot and business (entity) seen on any list at that snapshot, with the
    sets of the bridge it belongs to (docs/BRIDGE.md), the lists that saw it and how many of
    its records each list holds. The bridge, the counts and the population marts read it:
    records are joined to their business once, here. The sets are defined once, in macro
    entity_snapshot_facts (the bridge's intervals apply the same to each draw). -#}

with

records as (
    select
        record_id,
        {{ entity_fact_columns() | indent(8) }}
    from {{ ref('int_records_unioned') }}
),

-- a record's business, straight from the clusters (one row per record identity, as
-- map_record_to_entity reads them): this model need not wait for the map and its tests,
-- and the marts built on it start while the map is still being built
entity_map as (
    select
        source_id,
        record_id,
        entity_id
    from {{ ref('int_entity_clusters') }}
),

resolved as (
    select
        {{ entity_fact_columns('records') | indent(8) }},
        coalesce(entity_map.entity_id, records.source_id || ':' || records.record_id) as entity_id
    from records
    left join entity_map
        on
            records.source_id = entity_map.source_id
            and records.record_id = entity_map.record_id
),

final as (
    {{ entity_snapshot_facts('resolved', ['snapshot', 'entity_id']) }}
)

select * from final

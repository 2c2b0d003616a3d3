{#- The facts of fct_umkm_entity_snapshots (one row per snapshot and business seen on any
    list at that snapshot: the bridge's sets, the lists that saw it and its records on each;
    macro entity_snapshot_facts) stored once per range: one row per business and stretch of
    consecutive snapshots (dim_snapshot) with the same facts. Most businesses keep their
    facts from one month to the next, so a further month stores the businesses whose facts
    changed, the new and the returning ones, not every business again. The view
    fct_umkm_entity_snapshots expands the ranges to a row per snapshot and business. -#}
{%- set facts = entity_snapshot_fact_names() -%}

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

facts as (
    {{ entity_snapshot_facts('resolved', ['snapshot', 'entity_id']) | indent(4) }}
),

final as (
    {{ snapshot_ranges('facts', ['entity_id'] + facts) | indent(4) }}
)

select * from final

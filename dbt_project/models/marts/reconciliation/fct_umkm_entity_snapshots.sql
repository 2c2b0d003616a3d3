{#- One row per snapshot and business (entity) seen on any list at that snapshot, with the
    sets of the bridge it belongs to (docs/BRIDGE.md), the lists that saw it and how many of
    its records each list holds. The bridge, the counts and the population marts read it:
    records are joined to their business once, here. -#}
{%- set min_products = var('large_enterprise_min_products') -%}

with

records as (
    select
        snapshot,
        source_id,
        record_id,
        source_kind,
        platform,
        is_brand_store,
        is_counted,
        product_count,
        is_dormant,
        is_registry_active,
        training_year
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
        records.snapshot,
        records.source_kind,
        records.platform,
        records.is_brand_store,
        records.is_counted,
        records.product_count,
        records.is_dormant,
        records.is_registry_active,
        records.training_year,
        coalesce(entity_map.entity_id, records.source_id || ':' || records.record_id) as entity_id
    from records
    left join entity_map
        on
            records.source_id = entity_map.source_id
            and records.record_id = entity_map.record_id
),

per_entity as (
    select
        snapshot,
        entity_id,
        count(*) filter (
            where source_kind = 'marketplace' and is_counted
        ) as counted_accounts,
        coalesce(
            array_agg(distinct platform order by platform) filter (
                where source_kind = 'marketplace' and is_counted
            ),
            array[]::text[]
        ) as platforms,
        coalesce(
            array_agg(distinct platform order by platform) filter (
                where
                source_kind = 'marketplace'
                and is_counted
                and not coalesce(is_dormant, false)
            ),
            array[]::text[]
        ) as active_platforms,
        coalesce(
            bool_or(is_brand_store) filter (where source_kind = 'marketplace'), false
        ) as has_brand_store,
        max(product_count) filter (
            where source_kind = 'marketplace' and is_counted
        ) as max_counted_products,
        count(*) filter (
            where source_kind = 'registry' and is_registry_active
        ) as active_registry_records,
        count(*) filter (
            where
            source_kind = 'ministry_list'
            and training_year between 2017 and extract(year from snapshot)
        ) as esmart_records
    from resolved
    group by snapshot, entity_id
),

flagged as (
    select
        snapshot,
        entity_id,
        counted_accounts,
        platforms,
        active_platforms,
        cardinality(platforms) as platform_count,
        has_brand_store,
        max_counted_products,
        (
            has_brand_store
            or coalesce(max_counted_products >= {{ min_products }}, false)
        ) as is_large_enterprise,
        counted_accounts > 0 as is_on_marketplace,
        active_registry_records > 0 as is_in_registry,
        esmart_records > 0 as is_in_esmart,
        active_registry_records,
        esmart_records
    from per_entity
),

final as (
    select
        snapshot,
        entity_id,
        counted_accounts,
        platforms,
        active_platforms,
        platform_count,
        has_brand_store,
        max_counted_products,
        is_large_enterprise,
        is_on_marketplace,
        is_on_marketplace and not is_large_enterprise as is_umkm_on_marketplace,
        (
            is_on_marketplace
            and not is_large_enterprise
            and cardinality(active_platforms) > 0
        ) as is_active_online,
        is_in_registry,
        is_in_esmart,
        (
            not is_large_enterprise
            and (
                (is_on_marketplace and cardinality(active_platforms) > 0)
                or is_in_registry
                or is_in_esmart
            )
        ) as is_online_umkm,
        active_registry_records,
        esmart_records
    from flagged
)

select * from final

{#- Bridge step 6 (`large_enterprises`) at half, the current and twice the product threshold
    (var `large_enterprise_min_products`), from the entity facts: how much the step leans on
    a proxy no law sets (docs/BRIDGE.md, "Policy definitions"). -#}
{%- set min_products = var('large_enterprise_min_products') -%}

with

entities as (
    select
        snapshot,
        entity_id,
        has_brand_store,
        max_counted_products
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_on_marketplace
),

thresholds as (
    select
        variant.threshold_variant,
        variant.factor,
        ceil({{ min_products }} * variant.factor)::bigint as min_products
    from (
        values
        ('half', 0.5),
        ('current', 1.0),
        ('twice', 2.0)
    ) as variant (threshold_variant, factor)
),

counted as (
    select
        entities.snapshot,
        thresholds.threshold_variant,
        thresholds.factor,
        thresholds.min_products,
        count(*) as businesses_on_marketplaces,
        count(*) filter (where entities.has_brand_store) as with_brand_store,
        count(*) filter (
            where
            entities.has_brand_store
            or entities.max_counted_products >= thresholds.min_products
        ) as large_enterprises
    from entities
    cross join thresholds
    group by
        entities.snapshot,
        thresholds.threshold_variant,
        thresholds.factor,
        thresholds.min_products
),

final as (
    select
        snapshot,
        threshold_variant,
        factor,
        min_products,
        businesses_on_marketplaces,
        with_brand_store,
        large_enterprises - with_brand_store as by_product_count_only,
        large_enterprises,
        -large_enterprises as step_value,
        businesses_on_marketplaces - large_enterprises as umkm_on_marketplaces,
        large_enterprises - max(large_enterprises) filter (
            where threshold_variant = 'current'
        ) over (partition by snapshot) as change_from_current
    from counted
)

select * from final

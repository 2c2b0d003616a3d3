{#- Active online UMKM on both of two marketplaces (counted accounts), per snapshot: one row
    per unordered pair (platform_a <= platform_b); the diagonal is the platform's total. -#}

with

entities as (
    select
        snapshot,
        entity_id,
        platforms
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_active_online
),

pairs as (
    select
        entities.snapshot,
        entities.entity_id,
        platform_a.platform as platform_a,
        platform_b.platform as platform_b
    from entities
    cross join lateral unnest(entities.platforms) as platform_a (platform)
    cross join lateral unnest(entities.platforms) as platform_b (platform)
    where platform_a.platform <= platform_b.platform
),

final as (
    select
        snapshot,
        platform_a,
        platform_b,
        count(*) as businesses
    from pairs
    group by snapshot, platform_a, platform_b
)

select * from final

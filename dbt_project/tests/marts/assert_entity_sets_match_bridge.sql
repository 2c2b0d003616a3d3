{#- The bridge's running totals after steps 5, 6, 7 and 8 are the sizes of B, U, A and
    A-in-registry: they must equal the counts of those sets in fct_umkm_entity_snapshots,
    which the bridge sums, per snapshot (the steps' arithmetic checked against the sets). -#}

with

bridge as (
    select
        snapshot,
        step_id,
        running_total
    from {{ ref('mart_reconciliation_bridge') }}
),

entities as (
    select
        snapshot,
        is_on_marketplace,
        is_umkm_on_marketplace,
        is_active_online,
        is_in_registry
    from {{ ref('fct_umkm_entity_snapshots') }}
),

from_bridge as (
    select
        snapshot,
        max(running_total) filter (where step_id = 'cross_platform_duplicates') as b,
        max(running_total) filter (where step_id = 'large_enterprises') as u,
        max(running_total) filter (where step_id = 'dormant_accounts') as a,
        max(running_total) filter (where step_id = 'not_in_registry') as a_registered
    from bridge
    group by snapshot
),

from_entities as (
    select
        snapshot,
        count(*) filter (where is_on_marketplace) as b,
        count(*) filter (where is_umkm_on_marketplace) as u,
        count(*) filter (where is_active_online) as a,
        count(*) filter (where is_active_online and is_in_registry) as a_registered
    from entities
    group by snapshot
),

final as (
    select
        from_bridge.snapshot,
        from_bridge.b as bridge_b,
        from_entities.b as entities_b,
        from_bridge.u as bridge_u,
        from_entities.u as entities_u,
        from_bridge.a as bridge_a,
        from_entities.a as entities_a,
        from_bridge.a_registered as bridge_a_registered,
        from_entities.a_registered as entities_a_registered
    from from_bridge
    left join from_entities on from_bridge.snapshot = from_entities.snapshot
    where
        from_bridge.b != coalesce(from_entities.b, 0)
        or from_bridge.u != coalesce(from_entities.u, 0)
        or from_bridge.a != coalesce(from_entities.a, 0)
        or from_bridge.a_registered != coalesce(from_entities.a_registered, 0)
)

select * from final

{#- Active online UMKM per commodity (the entity's best-known commodity) and snapshot. -#}

with

entities as (
    select
        snapshot,
        entity_id,
        is_in_registry
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_active_online
),

dim_entity as (
    select
        entity_id,
        commodity
    from {{ ref('dim_umkm_entity') }}
),

final as (
    select
        entities.snapshot,
        coalesce(dim_entity.commodity, 'unknown') as commodity,
        count(*) as active_umkm,
        count(*) filter (where entities.is_in_registry) as active_umkm_registered
    from entities
    left join dim_entity on entities.entity_id = dim_entity.entity_id
    group by entities.snapshot, coalesce(dim_entity.commodity, 'unknown')
)

select * from final

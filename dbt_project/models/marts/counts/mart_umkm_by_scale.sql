{#- Online UMKM per business scale (the registry's skala_usaha, staged as micro, small, medium;
    'unknown' for a business the registry does not know) and snapshot. -#}

with

entities as (
    select
        snapshot,
        entity_id,
        is_active_online,
        is_online_umkm
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_online_umkm
),

dim_entity as (
    select
        entity_id,
        business_scale
    from {{ ref('dim_umkm_entity') }}
),

final as (
    select
        entities.snapshot,
        coalesce(dim_entity.business_scale, 'unknown') as business_scale,
        count(*) as online_umkm,
        count(*) filter (where entities.is_active_online) as active_umkm
    from entities
    left join dim_entity on entities.entity_id = dim_entity.entity_id
    group by entities.snapshot, coalesce(dim_entity.business_scale, 'unknown')
)

select * from final

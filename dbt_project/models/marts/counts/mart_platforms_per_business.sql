{#- How many marketplaces an active online UMKM sells on (counted accounts), per snapshot. -#}

with

entities as (
    select
        snapshot,
        entity_id,
        platform_count
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_active_online
),

final as (
    select
        snapshot,
        platform_count,
        count(*) as businesses
    from entities
    group by snapshot, platform_count
)

select * from final

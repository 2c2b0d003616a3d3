{#- Accounts, businesses and active online UMKM per marketplace and snapshot. -#}

with

records as (
    select
        snapshot,
        platform,
        is_brand_store,
        is_closed,
        is_counted
    from {{ ref('int_records_unioned') }}
    where source_kind = 'marketplace'
),

entities as (
    select
        snapshot,
        entity_id,
        platforms,
        active_platforms,
        is_umkm_on_marketplace,
        is_active_online
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_on_marketplace
),

account_counts as (
    select
        snapshot,
        platform,
        count(*) as accounts_served,
        count(*) filter (where is_counted) as accounts,  -- noqa: RF04
        count(*) filter (where is_brand_store) as brand_owner_stores,
        count(*) filter (where is_closed and not is_brand_store) as closed_accounts
    from records
    group by snapshot, platform
),

business_counts as (
    select
        entities.snapshot,
        on_platform.platform,
        count(*) as businesses,
        count(*) filter (where entities.is_umkm_on_marketplace) as umkm
    from entities
    cross join lateral unnest(entities.platforms) as on_platform (platform)
    group by entities.snapshot, on_platform.platform
),

active_counts as (
    select
        entities.snapshot,
        active_on.platform,
        count(*) as active_umkm
    from entities
    cross join lateral unnest(entities.active_platforms) as active_on (platform)
    where entities.is_active_online
    group by entities.snapshot, active_on.platform
),

final as (
    select
        account_counts.snapshot,
        account_counts.platform,
        account_counts.accounts_served,
        account_counts.brand_owner_stores,
        account_counts.closed_accounts,
        account_counts.accounts,
        coalesce(business_counts.businesses, 0) as businesses,
        coalesce(business_counts.umkm, 0) as umkm,
        coalesce(active_counts.active_umkm, 0) as active_umkm
    from account_counts
    left join business_counts
        on
            account_counts.snapshot = business_counts.snapshot
            and account_counts.platform = business_counts.platform
    left join active_counts
        on
            account_counts.snapshot = active_counts.snapshot
            and account_counts.platform = active_counts.platform
)

select * from final

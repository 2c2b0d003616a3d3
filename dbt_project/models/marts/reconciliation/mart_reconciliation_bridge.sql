{#- The reconciliation bridge, step by step, exactly as docs/BRIDGE.md defines it: one row per
    snapshot and step; values are signed changes, the running total starts at Kominfo's
    published total (step 1) and ends at the active registry records (step 10). -#}
{%- set min_products = var('large_enterprise_min_products', 10000) -%}

with

records as (
    select
        snapshot,
        source_id,
        record_id,
        source_kind,
        is_brand_store,
        is_counted,
        product_count,
        is_dormant,
        is_registry_active,
        training_year
    from {{ ref('int_records_unioned') }}
),

entity_map as (
    select
        snapshot,
        source_id,
        record_id,
        entity_id
    from {{ ref('map_record_to_entity') }}
),

kominfo as (
    select
        snapshot,
        max(published_total) as published_total
    from {{ ref('stg_kominfo__counts') }}
    group by snapshot
),

resolved as (
    select
        records.snapshot,
        records.source_id,
        records.source_kind,
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
            records.snapshot = entity_map.snapshot
            and records.source_id = entity_map.source_id
            and records.record_id = entity_map.record_id
),

snapshots as (
    select snapshot from records
    union
    select snapshot from kominfo
),

counted_accounts as (
    select
        snapshot,
        source_id,
        entity_id,
        coalesce(is_dormant, false) as is_dormant,
        coalesce(product_count >= {{ min_products }}, false) as has_many_products
    from resolved
    where source_kind = 'marketplace' and is_counted
),

ministry_list_records as (
    select snapshot
    from resolved
    where
        source_kind = 'ministry_list'
        and training_year between 2017 and extract(year from snapshot)
),

active_registry_records as (
    select
        snapshot,
        entity_id
    from resolved
    where source_kind = 'registry' and is_registry_active
),

brand_store_businesses as (
    select distinct
        snapshot,
        entity_id
    from resolved
    where source_kind = 'marketplace' and is_brand_store
),

registered_businesses as (
    select distinct
        snapshot,
        entity_id
    from active_registry_records
),

-- B: distinct businesses with a counted account, and the evidence the steps need
marketplace_businesses as (
    select
        snapshot,
        entity_id,
        bool_or(has_many_products) as has_many_products,
        bool_and(is_dormant) as is_all_dormant
    from counted_accounts
    group by snapshot, entity_id
),

business_sets as (
    select
        marketplace_businesses.snapshot,
        marketplace_businesses.entity_id,
        (
            brand_store_businesses.entity_id is not null
            or marketplace_businesses.has_many_products
        ) as is_large_enterprise,
        marketplace_businesses.is_all_dormant,
        registered_businesses.entity_id is not null as is_registered
    from marketplace_businesses
    left join brand_store_businesses
        on
            marketplace_businesses.snapshot = brand_store_businesses.snapshot
            and marketplace_businesses.entity_id = brand_store_businesses.entity_id
    left join registered_businesses
        on
            marketplace_businesses.snapshot = registered_businesses.snapshot
            and marketplace_businesses.entity_id = registered_businesses.entity_id
),

account_counts as (
    select
        snapshot,
        count(*) as n_counted_accounts,
        count(distinct entity_id || '|' || source_id) as n_business_platform_pairs,
        count(distinct entity_id) as n_businesses
    from counted_accounts
    group by snapshot
),

business_counts as (
    select
        snapshot,
        count(*) filter (where is_large_enterprise) as n_large_enterprises,
        count(*) filter (
            where not is_large_enterprise and is_all_dormant
        ) as n_dormant_businesses,
        count(*) filter (
            where not is_large_enterprise and not is_all_dormant
        ) as n_active_umkm,
        count(*) filter (
            where not is_large_enterprise and not is_all_dormant and is_registered
        ) as n_active_umkm_registered
    from business_sets
    group by snapshot
),

ministry_counts as (
    select
        snapshot,
        count(*) as n_ministry_list_records
    from ministry_list_records
    group by snapshot
),

registry_counts as (
    select
        snapshot,
        count(*) as n_active_registry_records
    from active_registry_records
    group by snapshot
),

totals as (
    select
        snapshots.snapshot,
        coalesce(kominfo.published_total, 0) as k,
        coalesce(account_counts.n_counted_accounts, 0) as counted,
        coalesce(account_counts.n_business_platform_pairs, 0) as pairs,
        coalesce(account_counts.n_businesses, 0) as b,
        coalesce(ministry_counts.n_ministry_list_records, 0) as m,
        coalesce(business_counts.n_large_enterprises, 0) as large_enterprises,
        coalesce(business_counts.n_dormant_businesses, 0) as dormant,
        coalesce(business_counts.n_active_umkm, 0) as a,
        coalesce(business_counts.n_active_umkm_registered, 0) as a_registered,
        coalesce(registry_counts.n_active_registry_records, 0) as c
    from snapshots
    left join kominfo on snapshots.snapshot = kominfo.snapshot
    left join account_counts on snapshots.snapshot = account_counts.snapshot
    left join ministry_counts on snapshots.snapshot = ministry_counts.snapshot
    left join business_counts on snapshots.snapshot = business_counts.snapshot
    left join registry_counts on snapshots.snapshot = registry_counts.snapshot
),

steps as (
    select
        totals.snapshot,
        step.step_order,
        step.step_id,
        step.description,
        step.step_value as value  -- noqa: RF04
    from totals
    cross join lateral (
        values
        (
            1, 'kominfo_published',
            'Kominfo''s published total (start)',
            totals.k
        ),
        (
            2, 'feed_recount_gap',
            'Recount from the feeds (counted marketplace accounts + e-Smart IKM records) '
            || 'minus the published total',
            totals.counted + totals.m - totals.k
        ),
        (
            3, 'ministry_list_records',
            'Minus the records from ministry lists (e-Smart IKM participants)',
            -totals.m
        ),
        (
            4, 'same_platform_duplicate_shops',
            'Minus extra shops one business runs on the same marketplace',
            -(totals.counted - totals.pairs)
        ),
        (
            5, 'cross_platform_duplicates',
            'Minus the extra count of a business present on several marketplaces',
            -(totals.pairs - totals.b)
        ),
        (
            6, 'large_enterprises',
            'Minus businesses that are not UMKM (a brand-owner store anywhere, or '
            || '10,000+ products on an account)',
            -totals.large_enterprises
        ),
        (
            7, 'dormant_accounts',
            'Minus businesses whose every counted account had no seller activity in the '
            || '90 days before the snapshot',
            -totals.dormant
        ),
        (
            8, 'not_in_registry',
            'Minus active online UMKM with no active record in Kemenkop''s registry',
            -(totals.a - totals.a_registered)
        ),
        (
            9, 'registry_only',
            'Plus active registry records not accounted for by an active online UMKM '
            || 'in the registry',
            totals.c - totals.a_registered
        ),
        (
            10, 'kemenkopukm_registry',
            'Kemenkop''s count (end): active registry records at the snapshot',
            totals.c
        )
    ) as step (step_order, step_id, description, step_value)
),

final as (
    select
        snapshot,
        step_order,
        step_id,
        description,
        value::bigint as value,  -- noqa: RF04
        (
            case
                when step_order = 10 then value
                else sum(value) over (
                    partition by snapshot
                    order by step_order
                    rows between unbounded preceding and current row
                )
            end
        )::bigint as running_total
    from steps
)

select * from final

{#- The reconciliation bridge, step by step, exactly as docs/BRIDGE.md defines it: one row per
    snapshot and step; values are signed changes, the running total starts at Kominfo's
    published total (step 1) and ends at the active registry records (step 10). The sets and
    counts come from fct_umkm_entity_snapshots (one row per snapshot and business, records
    already joined to their business); at scale 1.0 joining the 9M records here a second
    time took 103 s of the build. -#}

with

entities as (
    select
        snapshot,
        counted_accounts,
        platform_count,
        is_on_marketplace,
        is_large_enterprise,
        is_umkm_on_marketplace,
        is_active_online,
        is_in_registry,
        esmart_records,
        active_registry_records
    from {{ ref('fct_umkm_entity_snapshots') }}
),

kominfo as (
    select
        snapshot,
        max(published_total) as published_total
    from {{ ref('stg_kominfo__counts') }}
    group by snapshot
),

-- counted: counted marketplace accounts; pairs: distinct (business, marketplace) among
-- them; b: distinct businesses with one (B); a: active online UMKM (A); m and c: e-Smart
-- records of the snapshot's training years and active registry records (records, not
-- businesses)
entity_counts as (
    select
        snapshot,
        sum(counted_accounts) as counted,
        sum(platform_count) as pairs,
        count(*) filter (where is_on_marketplace) as b,
        sum(esmart_records) as m,
        count(*) filter (where is_on_marketplace and is_large_enterprise) as large_enterprises,
        count(*) filter (where is_umkm_on_marketplace and not is_active_online) as dormant,
        count(*) filter (where is_active_online) as a,
        count(*) filter (where is_active_online and is_in_registry) as a_registered,
        sum(active_registry_records) as c
    from entities
    group by snapshot
),

snapshots as (
    select snapshot from entity_counts
    union
    select snapshot from kominfo
),

totals as (
    select
        snapshots.snapshot,
        coalesce(kominfo.published_total, 0) as k,
        coalesce(entity_counts.counted, 0) as counted,
        coalesce(entity_counts.pairs, 0) as pairs,
        coalesce(entity_counts.b, 0) as b,
        coalesce(entity_counts.m, 0) as m,
        coalesce(entity_counts.large_enterprises, 0) as large_enterprises,
        coalesce(entity_counts.dormant, 0) as dormant,
        coalesce(entity_counts.a, 0) as a,
        coalesce(entity_counts.a_registered, 0) as a_registered,
        coalesce(entity_counts.c, 0) as c
    from snapshots
    left join kominfo on snapshots.snapshot = kominfo.snapshot
    left join entity_counts on snapshots.snapshot = entity_counts.snapshot
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

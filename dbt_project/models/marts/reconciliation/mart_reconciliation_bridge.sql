{#- The reconciliation bridge, step by step, exactly as docs/BRIDGE.md defines it: one row per
    snapshot and step; values are signed changes, the running total starts at Kominfo's
    published total (step 1) and ends at the active registry records (step 10). The sets and
    counts come from fct_umkm_entity_snapshots (one row per snapshot and business, records
    already joined to their business); at scale 1.0 joining the 9M records here a second
    time took 103 s of the build. Steps 4 to 9 depend on entity resolution and carry a 95%
    interval from the draws of its uncertain links (ci_low, ci_high; the other steps are
    counts of records, their interval is the value). -#}

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
    {{ bridge_entity_counts('entities', ['snapshot']) }}
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

-- how each step's value moves across the draws of the uncertain links (entity resolution's
-- own uncertainty, int_bridge_matching_draws): steps 4 to 9 depend on matching
draw_steps as (
    select
        draws.snapshot,
        step.step_order,
        step.delta
    from {{ ref('int_bridge_matching_draws') }} as draws
    cross join lateral (
        values
        (4, draws.delta_pairs),
        (5, draws.delta_b - draws.delta_pairs),
        (6, -draws.delta_large_enterprises),
        (7, -draws.delta_dormant),
        (8, draws.delta_a_registered - draws.delta_a),
        (9, -draws.delta_a_registered)
    ) as step (step_order, delta)
),

spread as (
    select
        snapshot,
        step_order,
        avg(delta) as mean_delta,
        coalesce(stddev_samp(delta), 0) as sd_delta
    from draw_steps
    group by snapshot, step_order
),

with_intervals as (
    select
        steps.*,
        -- a normal 95% interval of the value over the draws, widened to hold the value
        -- entity resolution chose
        least(
            steps.value,
            steps.value + coalesce(spread.mean_delta - {{ z_95() }} * spread.sd_delta, 0)
        ) as ci_low,
        greatest(
            steps.value,
            steps.value + coalesce(spread.mean_delta + {{ z_95() }} * spread.sd_delta, 0)
        ) as ci_high
    from steps
    left join spread
        on steps.snapshot = spread.snapshot and steps.step_order = spread.step_order
),

final as (
    select
        snapshot,
        step_order,
        step_id,
        description,
        value::bigint as value,  -- noqa: RF04
        floor(ci_low)::bigint as ci_low,
        ceil(ci_high)::bigint as ci_high,
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
    from with_intervals
)

select * from final

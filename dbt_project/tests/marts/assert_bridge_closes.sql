{#- The bridge arithmetic, for every snapshot (docs/BRIDGE.md): ten steps in their fixed
    order, residual = C - sum(steps 1..9) = 0, the running total of steps 9 and 10 equal
    to C and that of step 1 equal to Kominfo's total. Returns the snapshots that break it. -#}

with

bridge as (
    select
        snapshot,
        step_order,
        step_id,
        value,
        running_total
    from {{ ref('mart_reconciliation_bridge') }}
),

expected_steps as (
    select
        step.step_order,
        step.step_id
    from (
        values
        (1, 'kominfo_published'),
        (2, 'feed_recount_gap'),
        (3, 'ministry_list_records'),
        (4, 'same_platform_duplicate_shops'),
        (5, 'cross_platform_duplicates'),
        (6, 'large_enterprises'),
        (7, 'dormant_accounts'),
        (8, 'not_in_registry'),
        (9, 'registry_only'),
        (10, 'kemenkopukm_registry')
    ) as step (step_order, step_id)
),

per_snapshot as (
    select
        bridge.snapshot,
        count(*) as n_steps,
        count(expected_steps.step_id) as n_expected_steps,
        max(bridge.value) filter (where bridge.step_order = 10) as c,
        sum(bridge.value) filter (where bridge.step_order between 1 and 9) as sum_steps,
        max(bridge.running_total) filter (where bridge.step_order = 9) as running_9,
        max(bridge.running_total) filter (where bridge.step_order = 10) as running_10,
        max(bridge.value) filter (where bridge.step_order = 1) as k,
        max(bridge.running_total) filter (where bridge.step_order = 1) as running_1
    from bridge
    left join expected_steps
        on
            bridge.step_order = expected_steps.step_order
            and bridge.step_id = expected_steps.step_id
    group by bridge.snapshot
),

final as (
    select
        snapshot,
        n_steps,
        n_expected_steps,
        c - sum_steps as residual,
        running_9,
        running_10,
        c,
        k,
        running_1
    from per_snapshot
    where
        n_steps != 10
        or n_expected_steps != 10
        or c - sum_steps != 0
        or running_9 != c
        or running_10 != c
        or running_1 != k
)

select * from final

{#- mart_large_enterprise_thresholds at the current threshold is the bridge's step 6:
    returns the snapshots where they differ (or where one of them is missing). -#}

with

bridge as (
    select
        snapshot,
        value
    from {{ ref('mart_reconciliation_bridge') }}
    where step_id = 'large_enterprises'
),

thresholds as (
    select
        snapshot,
        step_value
    from {{ ref('mart_large_enterprise_thresholds') }}
    where threshold_variant = 'current'
),

final as (
    select
        coalesce(bridge.snapshot, thresholds.snapshot) as snapshot_date,
        bridge.value as bridge_value,
        thresholds.step_value as threshold_value
    from bridge
    full join thresholds on bridge.snapshot = thresholds.snapshot
    where
        coalesce(bridge.value, 0) <> coalesce(thresholds.step_value, 0)
)

select * from final

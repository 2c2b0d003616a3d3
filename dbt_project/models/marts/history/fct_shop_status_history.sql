{#- Status history of every marketplace shop across snapshots (SCD type 2): one row per shop
    and stretch of consecutive snapshots with the same status, valid_from inclusive,
    valid_to exclusive (null while current). Rebuilt from every landed snapshot on each run,
    so snapshots loaded one at a time or backfilled out of order give the same history
    (why not a dbt snapshot: see _history__docs.md). -#}

with

records as (
    select
        snapshot,
        source_id,
        record_id,
        is_brand_store,
        is_closed,
        is_dormant
    from {{ ref('int_records_unioned') }}
    where source_kind = 'marketplace'
),

platform_snapshots as (
    select distinct
        source_id,
        snapshot
    from records
),

shops as (
    select
        source_id,
        record_id,
        min(snapshot) as first_seen
    from records
    group by source_id, record_id
),

-- every snapshot the platform delivered since the shop first appeared
grid as (
    select
        shops.source_id,
        shops.record_id,
        platform_snapshots.snapshot
    from shops
    inner join platform_snapshots
        on
            shops.source_id = platform_snapshots.source_id
            and shops.first_seen <= platform_snapshots.snapshot
),

statuses as (
    select
        grid.source_id,
        grid.record_id,
        grid.snapshot,
        coalesce(records.is_brand_store, false) as is_brand_store,
        case
            when records.record_id is null then 'absent'
            when records.is_closed then 'closed'
            when records.is_dormant then 'dormant'
            else 'active'
        end as status
    from grid
    left join records
        on
            grid.source_id = records.source_id
            and grid.record_id = records.record_id
            and grid.snapshot = records.snapshot
),

lagged as (
    select
        source_id,
        record_id,
        snapshot,
        is_brand_store,
        status,
        lag(status) over (
            partition by source_id, record_id order by snapshot
        ) as previous_status,
        lag(is_brand_store) over (
            partition by source_id, record_id order by snapshot
        ) as previous_is_brand_store
    from statuses
),

changes as (
    select
        source_id,
        record_id,
        snapshot,
        is_brand_store,
        status,
        case
            when
                status = previous_status
                and is_brand_store = previous_is_brand_store
                then 0
            else 1  -- the first snapshot of a shop (no previous status) starts a stretch
        end as is_change
    from lagged
),

islands as (
    select
        source_id,
        record_id,
        snapshot,
        is_brand_store,
        status,
        sum(is_change) over (
            partition by source_id, record_id
            order by snapshot
            rows between unbounded preceding and current row
        ) as island
    from changes
),

stretches as (
    select
        source_id,
        record_id,
        island,
        status,
        is_brand_store,
        min(snapshot) as valid_from,
        max(snapshot) as last_seen_in_status,
        count(*) as snapshots_in_status
    from islands
    group by source_id, record_id, island, status, is_brand_store
),

final as (
    select
        source_id,
        record_id,
        source_id || ':' || record_id || ':' || valid_from::text as status_key,
        status,
        is_brand_store,
        valid_from,
        lead(valid_from) over (
            partition by source_id, record_id order by valid_from
        ) as valid_to,
        last_seen_in_status,
        snapshots_in_status,
        lead(valid_from) over (
            partition by source_id, record_id order by valid_from
        ) is null as is_current
    from stretches
)

select * from final

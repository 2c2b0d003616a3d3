{#- Per snapshot: online UMKM seen on any list, active online UMKM, Kominfo's published
    total, and the 2019 target. `target` is the 8 million expressed at the feeds' scale
    (times Kominfo's total at the snapshot closest to 2017-11-15 over the published 4.6
    million: exactly 8 million on real feeds, scaled on the simulator's);
    `target_published` is the figure. -#}

with

bridge as (
    select
        snapshot,
        step_id,
        running_total
    from {{ ref('mart_reconciliation_bridge') }}
),

population as (
    select
        snapshot,
        estimate
    from {{ ref('mart_online_umkm_population') }}
    where method = 'observed'
),

figures as (
    select
        figure_id,
        value,
        published_on
    from {{ ref('published_figures') }}
),

per_snapshot as (
    select
        snapshot,
        max(running_total) filter (where step_id = 'kominfo_published') as kominfo_published,
        max(running_total) filter (where step_id = 'dormant_accounts') as active_online_umkm
    from bridge
    group by snapshot
),

scale as (
    select
        per_snapshot.kominfo_published::numeric
        / nullif(published.value, 0) as feed_scale
    from per_snapshot
    cross join figures as published
    where
        published.figure_id = 'kominfo_umkm_online'
        and per_snapshot.kominfo_published > 0
    order by abs(per_snapshot.snapshot - published.published_on) asc, per_snapshot.snapshot asc
    limit 1
),

target_figure as (
    select value as target_published
    from figures
    where figure_id = 'kominfo_target_2019'
),

final as (
    select
        per_snapshot.snapshot,
        coalesce(population.estimate, 0) as online_umkm,
        per_snapshot.active_online_umkm,
        per_snapshot.kominfo_published,
        round(target_figure.target_published * coalesce(scale.feed_scale, 1))::bigint
            as target,  -- noqa: RF04
        target_figure.target_published,
        round(
            100.0 * coalesce(population.estimate, 0)
            / nullif(target_figure.target_published * coalesce(scale.feed_scale, 1), 0),
            1
        ) as online_pct_of_target
    from per_snapshot
    cross join target_figure
    left join scale on true
    left join population on per_snapshot.snapshot = population.snapshot
)

select * from final

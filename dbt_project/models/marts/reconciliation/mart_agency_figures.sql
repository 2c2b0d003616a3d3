{#- Every published figure (seed published_figures) with its source, date and definition,
    and beside it the warehouse's own recount of the same thing where the feeds hold it. -#}

with

figures as (
    select
        figure_id,
        value,
        unit,
        published_by,
        published_on,
        definition,
        source_note
    from {{ ref('published_figures') }}
),

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

esmart_records as (
    select
        snapshot,
        training_year
    from {{ ref('int_records_unioned') }}
    where source_kind = 'ministry_list'
),

-- the latest BPS reference landed
regencies as (
    select bps.regency_code
    from {{ ref('stg_bps__regencies') }} as bps
    where bps.snapshot = (
        select max(latest.snapshot) from {{ ref('stg_bps__regencies') }} as latest
    )
),

-- what the warehouse can recount, per snapshot
measures as (
    select
        snapshot,
        'feed_recount' as measure_id,
        running_total as measured_value
    from bridge
    where step_id = 'feed_recount_gap'
    union all
    select
        snapshot,
        'active_registry_records' as measure_id,
        running_total as measured_value
    from bridge
    where step_id = 'kemenkopukm_registry'
    union all
    select
        snapshot,
        'online_umkm' as measure_id,
        estimate as measured_value
    from population
    union all
    select
        snapshot,
        'esmart_participants_' || training_year as measure_id,
        count(*) as measured_value
    from esmart_records
    where training_year is not null
    group by snapshot, training_year
    union all
    select
        null::date as snapshot,  -- noqa: RF04
        'bps_regencies' as measure_id,
        count(distinct regency_code) as measured_value
    from regencies
),

-- which recount stands beside which figure, and at which snapshot
recount_rules as (
    select
        recount_rule.figure_id,
        recount_rule.measure_id,
        recount_rule.at_snapshot,
        recount_rule.note
    from (
        values
        (
            'kominfo_umkm_online', 'feed_recount', 'closest',
            'Counted marketplace accounts plus e-Smart IKM records that passed validation '
            || '(bridge steps 1+2), at the snapshot closest to the publication date'
        ),
        (
            'kemenkopukm_ukm_online', 'active_registry_records', 'closest',
            'Active registry records that passed validation (bridge step 10), at the '
            || 'snapshot closest to the publication date'
        ),
        (
            'kominfo_target_2019', 'online_umkm', 'latest',
            'Distinct online UMKM seen on any list (observed, after entity resolution), at '
            || 'the latest snapshot'
        ),
        (
            'esmart_ikm_target_2018', 'esmart_participants_2018', 'latest',
            'e-Smart IKM participants listed for training year 2018, at the latest snapshot'
        ),
        (
            'esmart_ikm_target_2019', 'esmart_participants_2019', 'latest',
            'e-Smart IKM participants listed for training year 2019, at the latest snapshot'
        ),
        (
            'regencies_and_cities', 'bps_regencies', 'reference',
            'Distinct regency and city codes in the latest BPS reference landed'
        )
    ) as recount_rule (figure_id, measure_id, at_snapshot, note)
),

candidates as (
    select
        recount_rules.figure_id,
        measures.snapshot,
        measures.measured_value,
        row_number() over (
            partition by recount_rules.figure_id
            order by
                case
                    when recount_rules.at_snapshot = 'closest'
                        then abs(measures.snapshot - figures.published_on)
                end,
                measures.snapshot desc nulls last
        ) as preference
    from recount_rules
    inner join figures on recount_rules.figure_id = figures.figure_id
    inner join measures on recount_rules.measure_id = measures.measure_id
),

recounts as (
    select
        figure_id,
        snapshot,
        measured_value
    from candidates
    where preference = 1
),

final as (
    select
        figures.figure_id,
        figures.published_by,
        figures.published_on,
        figures.definition,
        figures.source_note,
        figures.unit,
        figures.value as published_value,
        recounts.measured_value::bigint as warehouse_recount,
        recounts.snapshot as recount_snapshot,
        coalesce(
            recount_rules.note,
            'Not in the feeds: kept as a published fact without a recount'
        ) as recount_note
    from figures
    left join recount_rules on figures.figure_id = recount_rules.figure_id
    left join recounts on figures.figure_id = recounts.figure_id
)

select * from final

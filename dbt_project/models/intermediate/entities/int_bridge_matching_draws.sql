{#- Enable hash joins only: every join here is between large sets. -#}
{{ config(**er_session_hooks({'enable_nestloop': 'off'})) }}
{#- How much the bridge's counts and the population estimate's list counts move in each draw
    of the uncertain links (int_entity_cluster_draws), against the clusters entity
    resolution chose (draw 0): one row per draw and snapshot. The counts are recomputed for
    the drawn records only (the others are the same in every draw), with the same
    definitions as the bridge (macros entity_snapshot_facts, bridge_entity_counts,
    population_list_counts), so a count's value in a draw is the bridge's value plus the
    difference here. mart_reconciliation_bridge and mart_online_umkm_population take their
    95% intervals from them. -#}
{%- set moved = ['pairs', 'b', 'large_enterprises', 'dormant', 'a', 'a_registered'] -%}
{%- set listed = ['n_observed', 'n_marketplaces', 'n_registry', 'n_both', 'n_two_lists',
                  'n100', 'n010', 'n001', 'n110', 'n101', 'n011', 'n111',
                  'n_list_a', 'n_list_b'] -%}

with

draws as (
    select * from {{ ref('int_entity_cluster_draws') }}
),

identities as (
    select
        rid,
        source_id,
        record_id
    from {{ ref('int_entity_records') }}
),

records as (
    select
        record_id,
        {{ entity_fact_columns() | indent(8) }}
    from {{ ref('int_records_unioned') }}
),

resolved as (
    select
        draws.draw,
        draws.entity_rid,
        {{ entity_fact_columns('records') | indent(8) }}
    from draws
    inner join identities on draws.rid = identities.rid
    inner join records
        on
            identities.source_id = records.source_id
            and identities.record_id = records.record_id
),

facts as materialized (
    {{ entity_snapshot_facts('resolved', ['draw', 'snapshot', 'entity_rid']) }}
),

bridge_counts as (
    {{ bridge_entity_counts('facts', ['draw', 'snapshot']) }}
),

list_counts as (
    {{ population_list_counts(
        'facts', ['draw', 'snapshot'], var('population_marketplace_list_a')
    ) }}
),

counts as materialized (
    select
        bridge_counts.*,
        {{ zero_filled_columns('list_counts', listed) | indent(8) }}
    from bridge_counts
    left join list_counts
        on
            bridge_counts.draw = list_counts.draw
            and bridge_counts.snapshot = list_counts.snapshot
),

final as (
    select
        drawn.draw,
        drawn.snapshot,
        {{ delta_columns('drawn', 'chosen', moved + listed) | indent(8) }}
    from counts as drawn
    inner join counts as chosen
        on
            drawn.snapshot = chosen.snapshot
            and chosen.draw = 0
    where drawn.draw > 0
)

select * from final

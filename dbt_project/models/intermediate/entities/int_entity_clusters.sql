{#- enable_nestloop off: the planner takes an aggregate over a CTE for 200 rows, and with
    that guess it chose nested loops over millions of links (ran over 10 minutes at scale
    1.0 instead of about a minute); every join here is large, hash joins suit them all.
    Parallel workers at zero setup and tuple costs, as in the candidate pairs: 62.9 s
    against 66.4 s at scale 1.0, the same clusters. -#}
{%- set session = {'enable_nestloop': 'off'} -%}
{%- do session.update(er_parallel_settings()) -%}
{%- set hooks = er_session_hooks(session) -%}
{{ config(
    pre_hook=hooks['pre_hook'],
    post_hook=hooks['post_hook'] + [
        "create unique index on {{ this }} (rid)",
    ],
) }}
{#- Clustering: connected components of the links (transitive closure), with a guard
    against chains: a component larger than er_max_cluster_size records is clustered again
    with its strong links only (score >= er_strong_score), so one bad link cannot merge
    unrelated businesses into one. The entity is named by its earliest record (smallest
    rid: first seen, then source and id), so its id is stable across snapshots. -#}
with

records as not materialized (
    select
        rid,
        source_id,
        record_id
    from {{ ref('int_entity_records') }}
),

links as not materialized (
    select
        rid_a,
        rid_b,
        is_strong
    from {{ ref('int_entity_links') }}
),

link_ends as (
    select rid_a as rid from links
    union all
    select rid_b as rid from links
),

degree as (
    select
        rid,
        count(*) as n_links
    from link_ends
    group by rid
),

-- A link whose two records have no other link is a whole component of two records (at
-- scale 1.0, 4.4M of the 5.3M linked records): it is named at once, and only the other
-- links go through the rounds of the connected components.
links_by_kind as (
    select
        links.rid_a,
        links.rid_b,
        links.is_strong,
        a.n_links = 1 and b.n_links = 1 as is_lone
    from links
    inner join degree as a on links.rid_a = a.rid
    inner join degree as b on links.rid_b = b.rid
),

chained_links as (
    select
        rid_a,
        rid_b,
        is_strong
    from links_by_kind
    where not is_lone
),

-- the connected components of the chained links, each round of them a table of its own
-- analysed before the next is planned (function umkm_connected_components, migration
-- V052): a chain of CTEs was planned on guesses by PostgreSQL 15
components as (
    select
        cc.rid,
        cc.comp_rid
    from (
        select
            array_agg(rid_a) as rid_a,
            array_agg(rid_b) as rid_b
        from chained_links
    ) as edges
    cross join lateral public.umkm_connected_components(edges.rid_a, edges.rid_b) as cc
),

component_size as (
    select
        comp_rid,
        count(*) as n_records
    from components
    group by comp_rid
),

oversized_nodes as (
    select components.rid
    from components
    inner join component_size on components.comp_rid = component_size.comp_rid
    where component_size.n_records > {{ er_setting('er_max_cluster_size') }}
),

-- an oversized component clustered again on its strong links alone; a record of it
-- without a strong link is an entity of its own
guard as (
    select
        cc.rid,
        cc.comp_rid
    from (
        select
            array_agg(chained_links.rid_a) as rid_a,
            array_agg(chained_links.rid_b) as rid_b
        from chained_links
        inner join oversized_nodes on chained_links.rid_a = oversized_nodes.rid
        where chained_links.is_strong
    ) as edges
    cross join lateral public.umkm_connected_components(edges.rid_a, edges.rid_b) as cc
),

labels as (
    select
        ends.rid,
        links_by_kind.rid_a as comp_rid,
        false as split_by_guard
    from links_by_kind
    cross join lateral (values (links_by_kind.rid_a), (links_by_kind.rid_b)) as ends (rid)
    where links_by_kind.is_lone
    union all
    select
        components.rid,
        case
            when oversized_nodes.rid is not null then coalesce(guard.comp_rid, components.rid)
            else components.comp_rid
        end as comp_rid,
        oversized_nodes.rid is not null as split_by_guard
    from components
    left join oversized_nodes on components.rid = oversized_nodes.rid
    left join guard on components.rid = guard.rid
),

-- the linked records named by their entity's earliest record; a record without a link is
-- an entity of its own and names itself
named as (
    select
        labels.rid,
        labels.comp_rid,
        labels.split_by_guard,
        anchor.source_id || ':' || anchor.record_id as entity_id
    from labels
    inner join records as anchor on labels.comp_rid = anchor.rid
),

final as (
    select
        records.rid,
        records.source_id,
        records.record_id,
        coalesce(named.comp_rid, records.rid) as entity_rid,
        coalesce(named.entity_id, records.source_id || ':' || records.record_id) as entity_id,
        coalesce(named.split_by_guard, false) as split_by_guard,
        named.rid is not null as is_linked
    from records
    left join named on records.rid = named.rid
)

select * from final

{{ config(
    pre_hook="set work_mem = '{{ er_setting(\"er_work_mem\") }}'",
    post_hook="reset work_mem",
) }}
{#- Clustering: connected components of the links (transitive closure), with a guard
    against chains: a component larger than er_max_cluster_size records is clustered again
    with its strong links only (score >= er_strong_score), so one bad link cannot merge
    unrelated businesses into one. The entity is named by its earliest record (smallest
    rid: first seen, then source and id), so its id is stable across snapshots. -#}
with

records as (
    select
        rid,
        source_id,
        record_id
    from {{ ref('int_entity_records') }}
),

links as (
    select
        rid_a,
        rid_b,
        is_strong
    from {{ ref('int_entity_links') }}
),

linked_nodes as (
    select rid_a as rid from links
    union
    select rid_b as rid from links
),

strong_links as (
    select
        rid_a,
        rid_b
    from links
    where is_strong
),

{{ connected_components('links', 'linked_nodes', 'cc', er_setting('er_iterations')) }}

component_size as (
    select
        comp_rid,
        count(*) as n_records
    from cc_{{ er_setting('er_iterations') }}
    group by comp_rid
),

oversized_nodes as (
    select cc.rid
    from cc_{{ er_setting('er_iterations') }} as cc
    inner join component_size on cc.comp_rid = component_size.comp_rid
    where component_size.n_records > {{ er_setting('er_max_cluster_size') }}
),

oversized_strong_links as (
    select
        s.rid_a,
        s.rid_b
    from strong_links as s
    inner join oversized_nodes as o on s.rid_a = o.rid
),

{{ connected_components(
    'oversized_strong_links', 'oversized_nodes', 'guard', er_setting('er_iterations')
) }}

labels as (
    select
        cc.rid,
        coalesce(guard.comp_rid, cc.comp_rid) as comp_rid,
        guard.rid is not null as split_by_guard
    from cc_{{ er_setting('er_iterations') }} as cc
    left join guard_{{ er_setting('er_iterations') }} as guard on cc.rid = guard.rid
),

final as (
    select
        records.rid,
        records.source_id,
        records.record_id,
        coalesce(labels.comp_rid, records.rid) as entity_rid,
        anchor.source_id || ':' || anchor.record_id as entity_id,
        coalesce(labels.split_by_guard, false) as split_by_guard
    from records
    left join labels on records.rid = labels.rid
    inner join records as anchor on coalesce(labels.comp_rid, records.rid) = anchor.rid
)

select * from final

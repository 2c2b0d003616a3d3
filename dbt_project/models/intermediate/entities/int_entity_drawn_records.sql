{#- The records whose cluster the model's uncertainty can change: every record of a cluster
    (int_entity_clusters) holding one end of an uncertain pair (match probability within
    er_interval_band, a steward's decision counting as certain). int_entity_cluster_draws
    draws the clusters of these records only; the others keep theirs in every draw. A table
    of its own (few rows): its size is known to the planner of the draws, which repeats it
    for every draw, with or without statistics. -#}
{%- set band = er_setting('er_interval_band') -%}

with

uncertain as (
    select
        rid_a,
        rid_b
    from {{ ref('int_entity_pairs_scored') }}
    where
        decided_probability >= {{ band[0] }}
        and decided_probability < {{ band[1] }}
),

clusters as not materialized (
    select
        rid,
        entity_rid
    from {{ ref('int_entity_clusters') }}
),

touched as (
    select rid_a as rid from uncertain
    union
    select rid_b as rid from uncertain
),

touched_clusters as (
    select distinct clusters.entity_rid
    from touched
    inner join clusters on touched.rid = clusters.rid
),

final as (
    select
        clusters.rid,
        clusters.entity_rid
    from clusters
    inner join touched_clusters on clusters.entity_rid = touched_clusters.entity_rid
)

select * from final

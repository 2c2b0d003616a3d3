{#- Every record of every snapshot -> its business (entity), with the rule of the strongest
    link that put it there ('unmatched' for a business seen in one record only). -#}
with

records as (
    select * from {{ ref('int_records_unioned') }}
),

clusters as not materialized (
    select * from {{ ref('int_entity_clusters') }}
),

links as not materialized (
    select * from {{ ref('int_entity_links') }}
),

link_ends as (
    select
        rid_a as rid,
        rid_b as other_rid,
        match_rule,
        match_weight
    from links
    union all
    select
        rid_b as rid,
        rid_a as other_rid,
        match_rule,
        match_weight
    from links
),

best_rule as (
    select distinct on (link_ends.rid)
        link_ends.rid,
        link_ends.match_rule
    from link_ends
    inner join clusters as mine on link_ends.rid = mine.rid
    inner join clusters as other
        on
            link_ends.other_rid = other.rid
            and mine.entity_rid = other.entity_rid
    order by link_ends.rid asc, link_ends.match_weight desc, link_ends.match_rule asc
),

final as (
    select
        records.snapshot,
        records.source_id,
        records.record_id,
        clusters.entity_id,
        coalesce(best_rule.match_rule, 'unmatched') as match_rule
    from records
    inner join clusters
        on
            records.source_id = clusters.source_id
            and records.record_id = clusters.record_id
    left join best_rule on clusters.rid = best_rule.rid
)

select * from final

{#- Every record -> its business (entity), with the rule of the strongest link that put it
    there ('unmatched' for a business seen in one record only), once per stretch of
    consecutive snapshots (dim_snapshot) the record was delivered in. A record's business
    does not depend on the snapshot (entity resolution clusters record identities), so a
    row per record and snapshot repeated the same values every month: a record delivered
    in every snapshot is one row here, one delivered, missed and delivered again is two.
    The view map_record_to_entity expands the ranges to a row per record and snapshot. -#}
with

records as not materialized (
    select
        snapshot,
        source_id,
        record_id
    from {{ ref('int_records_unioned') }}
),

ranges as (
    {{ snapshot_ranges('records', ['source_id', 'record_id']) | indent(4) }}
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
        ranges.source_id,
        ranges.record_id,
        ranges.first_snapshot,
        ranges.last_snapshot,
        clusters.entity_id,
        coalesce(best_rule.match_rule, 'unmatched') as match_rule
    from ranges
    inner join clusters
        on
            ranges.source_id = clusters.source_id
            and ranges.record_id = clusters.record_id
    left join best_rule on clusters.rid = best_rule.rid
)

select * from final

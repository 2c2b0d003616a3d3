{#- One row per business (entity): a best name, where it is, what it makes, its scale, when
    it was first seen and where it appears. Attributes come from the entity's records,
    latest snapshot of each: the registry's name and regency first (an official record),
    then the most frequent value among the others. A record without a link is a business
    of its own (3.6M of the 6.1M at scale 1.0) and gives its attributes as they are; only
    the linked records go through the sorts that choose among several. -#}
with

records as not materialized (
    select * from {{ ref('int_entity_records') }}
),

clusters as not materialized (
    select * from {{ ref('int_entity_clusters') }}
),

singles as (
    select
        clusters.entity_id,
        records.*
    from records
    inner join clusters on records.rid = clusters.rid
    where not clusters.is_linked
),

members as (
    select
        clusters.entity_id,
        records.*,
        case records.source_kind
            when 'registry' then 1
            when 'ministry_list' then 2
            else 3
        end as authority
    from records
    inner join clusters on records.rid = clusters.rid
    where clusters.is_linked
),

best_name as (
    select distinct on (entity_id)
        entity_id,
        shop_name as best_name
    from (
        select
            entity_id,
            shop_name,
            authority,
            count(*) over (partition by entity_id, name_norm) as n_same
        from members
        where shop_name is not null
    ) as named
    order by entity_id asc, authority asc, n_same desc, shop_name asc
),

best_region as (
    select distinct on (entity_id)
        entity_id,
        regency_code,
        province_code
    from (
        select
            entity_id,
            regency_code,
            province_code,
            authority,
            count(*) over (partition by entity_id, regency_code) as n_same
        from members
        where regency_code is not null
    ) as placed
    order by entity_id asc, authority asc, n_same desc, regency_code asc
),

best_commodity as (
    select distinct on (entity_id)
        entity_id,
        commodity
    from (
        select
            entity_id,
            commodity,
            authority,
            count(*) over (partition by entity_id, commodity) as n_same
        from members
        where commodity is not null
    ) as made
    order by entity_id asc, n_same desc, authority asc, commodity asc
),

summary as (
    select
        entity_id,
        min(first_seen) as first_seen,
        count(*) as n_records,
        coalesce(
            array_agg(distinct platform order by platform) filter (where platform is not null),
            '{}'::text[]
        ) as platforms,
        bool_or(source_kind = 'registry') as in_registry,
        bool_or(source_kind = 'ministry_list') as in_esmart,
        min(business_scale) filter (where business_scale is not null) as business_scale
    from members
    group by entity_id
),

linked_entities as (
    select
        summary.entity_id,
        best_name.best_name,
        best_region.regency_code,
        best_region.province_code,
        best_commodity.commodity,
        summary.business_scale,
        summary.first_seen,
        summary.platforms,
        summary.in_registry,
        summary.in_esmart,
        summary.n_records
    from summary
    left join best_name on summary.entity_id = best_name.entity_id
    left join best_region on summary.entity_id = best_region.entity_id
    left join best_commodity on summary.entity_id = best_commodity.entity_id
),

single_entities as (
    select
        entity_id,
        shop_name as best_name,
        regency_code,
        case when regency_code is not null then province_code end as province_code,
        commodity,
        business_scale,
        first_seen,
        case when platform is not null then array[platform] else '{}'::text[] end as platforms,
        source_kind = 'registry' as in_registry,
        source_kind = 'ministry_list' as in_esmart,
        1::bigint as n_records
    from singles
),

final as (
    select * from linked_entities
    union all
    select * from single_entities
)

select * from final

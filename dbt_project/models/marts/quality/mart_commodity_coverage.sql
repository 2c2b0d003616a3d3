{#- How much of each source's records the commodity mapping reads, per snapshot: records
    given one of the nine e-Smart commodities, `Lainnya`, or nothing (the report's
    unmapped share, overall and per source). -#}

with

texts as (
    select
        snapshot,
        source_id,
        category_text,
        commodity,
        records
    from {{ ref('int_category_texts_counted') }}
),

final as (
    select
        snapshot,
        source_id,
        sum(records)::bigint as records,
        count(*) as category_texts,
        coalesce(sum(records) filter (where commodity <> 'Lainnya'), 0)::bigint
            as records_priority_commodity,
        coalesce(sum(records) filter (where commodity = 'Lainnya'), 0)::bigint
            as records_lainnya,
        coalesce(sum(records) filter (where commodity is null), 0)::bigint
            as records_unmapped,
        count(*) filter (where commodity is null) as unmapped_category_texts,
        coalesce(sum(records) filter (where commodity is null), 0)::float8 / sum(records)
            as unmapped_share
    from texts
    group by snapshot, source_id
)

select * from final

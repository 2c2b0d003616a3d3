{#- Category texts that named no commodity, per snapshot and source, with their records and
    the share of the source's records at that snapshot (docs/ANALYSTS.md, "Commodities"). -#}

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

per_source as (
    select
        snapshot,
        source_id,
        sum(records)::bigint as source_records
    from texts
    group by snapshot, source_id
),

final as (
    select
        texts.snapshot,
        texts.source_id,
        texts.category_text,
        texts.category_text is null as is_missing,
        texts.records,
        per_source.source_records,
        texts.records::float8 / per_source.source_records as share_of_source
    from texts
    inner join per_source
        on
            texts.snapshot = per_source.snapshot
            and texts.source_id = per_source.source_id
    where texts.commodity is null
)

select * from final

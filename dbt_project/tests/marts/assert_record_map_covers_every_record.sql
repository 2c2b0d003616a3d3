{#- The record map (a view over its ranges) holds each snapshot's staged records, each
    once: returns the snapshots where the map's rows, or its distinct records, differ
    from the staged records' count. -#}

with

staged as (
    select
        snapshot,
        count(*) as records
    from {{ ref('int_records_unioned') }}
    group by snapshot
),

mapped as (
    select
        snapshot,
        count(*) as mapped_rows,
        count(distinct source_id || ':' || record_id) as mapped_records
    from {{ ref('map_record_to_entity') }}
    group by snapshot
),

final as (
    select
        staged.snapshot,
        staged.records,
        mapped.mapped_rows,
        mapped.mapped_records
    from staged
    full outer join mapped on staged.snapshot = mapped.snapshot
    where
        staged.records is distinct from mapped.mapped_rows
        or staged.records is distinct from mapped.mapped_records
)

select * from final

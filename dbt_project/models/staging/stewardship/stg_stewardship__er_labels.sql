{#- The stewards' decisions on pairs of records, as they wrote them. -#}
with

source as (
    select * from {{ source('stewardship', 'er_labels') }}
),

final as (
    select
        source_id_a,
        record_id_a,
        source_id_b,
        record_id_b,
        label,
        note,
        labelled_by,
        labelled_at
    from source
)

select * from final

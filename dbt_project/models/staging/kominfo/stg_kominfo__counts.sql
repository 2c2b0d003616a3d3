with

source as (
    select
        snapshot,
        record
    from {{ source('kominfo', 'kominfo') }}
),

exploded as (
    select
        source.snapshot,
        source.record ->> 'tanggal' as tanggal,
        (source.record ->> 'total')::bigint as published_total,
        parts.part ->> 'sumber' as sumber,
        (parts.part ->> 'jumlah')::bigint as jumlah
    from source
    cross join lateral jsonb_array_elements(source.record -> 'rincian') as parts (part)
),

final as (
    select
        snapshot,
        tanggal,
        sumber,
        jumlah,
        published_total
    from exploded
)

select * from final

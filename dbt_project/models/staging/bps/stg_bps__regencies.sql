with

source as (
    select
        snapshot,
        record
    from {{ source('bps', 'bps') }}
),

final as (
    select
        snapshot,
        btrim(record ->> 'code') as regency_code,
        btrim(record ->> 'parent_code') as province_code,
        btrim(record ->> 'name') as regency_name,
        btrim(record ->> 'name') like 'KOTA %' as is_kota
    from source
    where record ->> 'level' = 'regency'
)

select * from final

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
        btrim(record ->> 'code') as province_code,
        btrim(record ->> 'name') as province_name
    from source
    where record ->> 'level' = 'province'
)

select * from final

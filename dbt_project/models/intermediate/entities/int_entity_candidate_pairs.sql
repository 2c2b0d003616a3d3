{#- Blocking: the pairs of records worth comparing, kept near-linear in the data.
    Exact blocks: same phone hash, email hash, licence, national-ID hash, owner hash within a
    regency, normalised name within a regency; a block larger than er_max_block_size is a
    shared value (a reseller's phone, a placeholder) and is skipped. Typos: a sorted
    neighbourhood within each regency, each record against the next er_window records in
    the order of its normalised name and of its reversed name (catches an error at either
    end), so the candidates grow linearly. One row per pair with the blocks that found it. -#}
{{ config(
    pre_hook="set work_mem = '{{ er_setting(\"er_work_mem\") }}'",
    post_hook="reset work_mem",
) }}
{%- set cap = er_setting('er_max_block_size') | int -%}
{%- set window = er_setting('er_window') | int -%}

with

records as (
    select
        rid,
        phone_hash,
        email_hash,
        licence,
        nik_hash,
        owner_hash,
        name_norm,
        match_region
    from {{ ref('int_entity_records') }}
),

block_keys as (
    select
        rid,
        'phone' as block,
        phone_hash as block_key
    from records
    where phone_hash is not null
    union all
    select
        rid,
        'email' as block,
        email_hash as block_key
    from records
    where email_hash is not null
    union all
    select
        rid,
        'licence' as block,
        licence as block_key
    from records
    where licence is not null
    union all
    select
        rid,
        'national_id' as block,
        nik_hash as block_key
    from records
    where nik_hash is not null
    union all
    select
        rid,
        'owner_regency' as block,
        owner_hash || '|' || match_region as block_key
    from records
    where owner_hash is not null and match_region is not null
    union all
    select
        rid,
        'name_regency' as block,
        name_norm || '|' || match_region as block_key
    from records
    where name_norm is not null and match_region is not null
),

sized as (
    select
        rid,
        block,
        block_key,
        count(*) over (partition by block, block_key) as block_size
    from block_keys
),

exact_pairs as (
    select
        a.rid as rid_a,
        b.rid as rid_b,
        a.block
    from sized as a
    inner join sized as b
        on
            a.block = b.block
            and a.block_key = b.block_key
            and a.rid < b.rid
    where a.block_size between 2 and {{ cap }} and b.block_size between 2 and {{ cap }}
),

sorted as (
    select
        {%- for i in range(1, window + 1) %}
            lead(rid, {{ i }}) over by_name as next_{{ i }},
            lead(rid, {{ i }}) over by_reversed as rnext_{{ i }},
        {%- endfor %}
        rid
    from records
    where name_norm is not null and match_region is not null
    window
        by_name as (partition by match_region order by name_norm, rid),
        by_reversed as (partition by match_region order by reverse(name_norm), rid)
),

neighbour_pairs as (
    select
        least(sorted.rid, neighbour.other_rid) as rid_a,
        greatest(sorted.rid, neighbour.other_rid) as rid_b,
        'name_neighbour' as block
    from sorted
    cross join
        lateral (
            values
            {%- for i in range(1, window + 1) %}
                (sorted.next_{{ i }}), (sorted.rnext_{{ i }}){{ "," if not loop.last }}
            {%- endfor %}
        ) as neighbour (other_rid)
    where neighbour.other_rid is not null
),

all_pairs as (
    select * from exact_pairs
    union all
    select * from neighbour_pairs
),

final as (
    select
        rid_a,
        rid_b,
        string_agg(block, ',') as blocks
    from all_pairs
    group by rid_a, rid_b
)

select * from final

{#- Random pairs of record identities, compared as the candidate pairs are: almost all of
    them are different businesses, so how often each level occurs among them estimates
    u = P(level | different businesses) (int_er_parameters). er_u_sample_pairs pairs (a
    million by default), drawn by a hash of their number, so a rebuild draws the same
    pairs; rid runs from 1 to the number of records (int_entity_records). -#}
{%- set sample = er_setting('er_u_sample_pairs') | int -%}
with

records as not materialized (
    select * from {{ ref('int_entity_records') }}
),

size as (
    select count(*) as n_records from records
),

draws as (
    select
        1 + (hashint8extended(draw.i, 1) & 9223372036854775807) % size.n_records as rid_a,
        1 + (hashint8extended(draw.i, 2) & 9223372036854775807) % size.n_records as rid_b
    from size
    -- constant bounds: the planner knows the number of draws and joins them to the records
    -- by hashing (planned at its default 1,000 rows, it looked a million records up one by
    -- one: 20.6 s against 6 s at scale 0.1)
    cross join generate_series(1, {{ sample }}) as draw (i)
    where draw.i <= size.n_records * (size.n_records - 1) / 2
),

final as (
    select
        draws.rid_a,
        draws.rid_b,
        {{ er_level_columns('a', 'b') }}
    from draws
    inner join records as a on draws.rid_a = a.rid
    inner join records as b on draws.rid_b = b.rid
    where draws.rid_a <> draws.rid_b
)

select * from final

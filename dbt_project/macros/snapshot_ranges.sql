{#- Marts stored once per range of snapshots (docs/ARCHITECTURE.md, "Marts stored once per
    range of snapshots"): the two halves, written once. -#}

{#- One row per `keys` and stretch of consecutive snapshots (dim_snapshot) in which `rows`
    (a relation with a `snapshot` column) holds those values: `keys`, first_snapshot,
    last_snapshot. Consecutive snapshots of the same values share their number minus the
    count of their snapshots so far (gaps and islands); a gap or another value starts a
    new range. -#}
{% macro snapshot_ranges(rows, keys) -%}
select
    {{ keys | join(',\n    ') }},
    min(snapshot) as first_snapshot,
    max(snapshot) as last_snapshot
from (
    select
        {{ 'delivered.' ~ keys | join(',\n        delivered.') }},
        delivered.snapshot,
        numbers.snapshot_number - row_number() over (
            partition by
                {{ 'delivered.' ~ keys | join(',\n                delivered.') }}
            order by delivered.snapshot
        ) as stretch
    from {{ rows }} as delivered
    inner join {{ ref('dim_snapshot') }} as numbers on delivered.snapshot = numbers.snapshot
) as numbered
group by {{ keys | join(', ') }}, stretch
{%- endmacro %}

{#- `columns` of `ranges` (a relation of snapshot_ranges) at every snapshot of its ranges:
    the snapshots are read as an array and unnested (the planner takes an unnested array
    for a few rows whatever it knows of dim_snapshot; joined as a table never analysed, it
    was planned at thousands of rows, each matching every range). -#}
{% macro expand_snapshot_ranges(ranges, columns) -%}
select
    snapshots.snapshot,
    {{ 'ranges.' ~ columns | join(',\n    ranges.') }}
from {{ ranges }} as ranges
inner join
    unnest((select array_agg(held.snapshot) from {{ ref('dim_snapshot') }} as held))
        as snapshots (snapshot)
    on snapshots.snapshot between ranges.first_snapshot and ranges.last_snapshot
{%- endmacro %}

{#- Parallel workers at zero setup and tuple costs, as in the candidate pairs. -#}
{{ config(**er_session_hooks(er_parallel_settings())) }}
{#- Every candidate pair compared on every attribute: one level per comparison (macro
    er_comparisons: -1 when a value is missing on either side, 0 when none of the levels
    holds, then from the least alike up), and the agreeing value of each term-frequency
    comparison (for its weight in int_entity_pairs_scored). Each pair is joined to its two
    records by their key before anything compares them: the step has as many rows as there
    are pairs, whatever the planner (docs/PERFORMANCE.md, "PostgreSQL 15 beside 18"). -#}
with

pairs as (
    select
        rid_a,
        rid_b,
        blocks
    from {{ ref('int_entity_candidate_pairs') }}
),

records as not materialized (
    select * from {{ ref('int_entity_records') }}
),

final as (
    select
        pairs.rid_a,
        pairs.rid_b,
        a.source_id as source_id_a,
        b.source_id as source_id_b,
        pairs.blocks,
        {{ er_level_columns('a', 'b') }},
        case when a.name_norm = b.name_norm then hashtextextended(a.name_norm, 0) end
            as name_value_key,
        case when a.owner_hash = b.owner_hash then a.owner_hash end as owner_value_key,
        case when a.phone_hash = b.phone_hash then a.phone_hash end as phone_value_key,
        case when a.email_hash = b.email_hash then a.email_hash end as email_value_key
    from pairs
    inner join records as a on pairs.rid_a = a.rid
    inner join records as b on pairs.rid_b = b.rid
)

select * from final

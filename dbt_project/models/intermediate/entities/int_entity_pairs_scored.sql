{#- Parallel workers at zero setup and tuple costs, as in the candidate pairs. -#}
{{ config(**er_session_hooks(er_parallel_settings())) }}
{#- Every candidate pair with its match weight and match probability under this build's
    model (int_er_parameters): weight = log2(prior odds) + the weights of its levels, where
    an exact agreement on a value with a term frequency weighs log2(m / frequency of that
    value) instead of log2(m / u); probability = 2^w / (1 + 2^w). Links, the review queue
    and the bridge's intervals read it. -#}

with

compared as (
    select * from {{ ref('int_entity_pairs_compared') }}
),

frequencies as not materialized (
    select * from {{ ref('int_er_term_frequencies') }}
),

model as (
    select
        array_agg(match_weight order by slot_index) filter (where parameter = 'level')
            as weights,
        array_agg(m_probability order by slot_index) filter (where parameter = 'level') as m,
        max(match_weight) filter (where parameter = 'prior') as prior_weight
    from {{ ref('int_er_parameters') }}
),

weighed as (
    select
        compared.*,
        {{ er_match_weight() }} as match_weight
    from compared
    cross join model
    {{ er_term_frequency_joins('frequencies') }}
),

final as (
    select
        rid_a,
        rid_b,
        source_id_a,
        source_id_b,
        blocks,
        {{ er_level_names() }},
        match_weight,
        1.0 / (1.0 + power(2.0::float8, least(1000, greatest(-1000, -match_weight))))
            as match_probability
    from weighed
)

select * from final

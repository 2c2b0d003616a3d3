{#- The Fellegi-Sunter model of this build, estimated from the data (docs/ENTITY_RESOLUTION.md):
    one row per comparison level with m = P(level | same business), u = P(level | different
    businesses) and the match weight log2(m / u), and one row `prior` with P(two records
    are the same business) and the expected number of matching pairs.

    - u: the share of each level among the random pairs (int_er_random_pairs_compared); a
      level never seen there gets half a pair (u cannot be estimated below that).
    - m: expectation-maximisation over the candidate pairs of each training session (macro
      er_training_sessions), with u fixed, er_em_iterations rounds; the session's own
      comparisons are left out of its likelihood and keep no estimate from it; a
      comparison's m is the mean over the sessions that estimate it, floored at 1e-6 (a
      level that matching pairs never show would otherwise forbid a link outright).
    - prior: the fixed point of "expected matching pairs = sum over the candidate pairs of
      their match probability", starting from every candidate a match (EM for the prior
      with m and u fixed; pairs that are not candidates count as non-matches).
    The SQL pieces generated from the comparisons are in macros/er_estimation.sql. -#}
{%- set iterations = er_setting('er_em_iterations') | int -%}

with recursive

compared as (
    select * from {{ ref('int_entity_pairs_compared') }}
),

random_pairs as (
    select * from {{ ref('int_er_random_pairs_compared') }}
),

records as (
    select count(*)::float8 as n_records from {{ ref('int_entity_records') }}
),

slots as (
    {{ er_slot_rows() }}
),

-- u -----------------------------------------------------------------------------------------

random_counts as (
    {{ er_level_counts('random_pairs') }}
),

u_slots as (
    select
        slots.comparison,
        slots.level_number,
        slots.slot_index,
        coalesce(random_counts.n_pairs, 0) as n_random_pairs,
        sum(coalesce(random_counts.n_pairs, 0)) over (partition by slots.comparison)
            as n_applicable,
        count(*) over (partition by slots.comparison) as n_levels
    from slots
    left join random_counts
        on
            slots.comparison = random_counts.comparison
            and slots.level_number = random_counts.level_number
),

u_probabilities as (
    select
        slot_index,
        n_random_pairs,
        case
            when n_applicable = 0 then 1.0 / n_levels
            else greatest(n_random_pairs, 0.5) / n_applicable
        end as u_probability
    from u_slots
),

-- the tables a recursive step reads are materialized: inlined, they would be computed again
-- in every round
u_vector as materialized (
    select array_agg(u_probability order by slot_index) as u from u_probabilities
),

-- m: EM over each training session's pairs ---------------------------------------------------

-- in a fixed order: each EM step sums over these rows in the order it reads them, and a
-- floating-point sum depends on its order; the patterns' order from the grouping followed
-- the pairs' physical order, so a rebuild of the same pairs could differ in the last digit
training as materialized (
    select patterns.*
    from (
        {{ er_training_patterns('compared') | indent(8) }}
    ) as patterns
    order by patterns.session_name, {{ er_level_names('patterns.') | indent(8) }}
),

em (session_name, iteration, prior_probability, m) as (
    select
        training_session.session_name,
        0,
        0.5::float8,
        {{ er_initial_m() }}
    -- every session, even one without pairs (its estimates stay at the start: a world
    -- with no shared phone still gets an m for every level)
    from ({{ er_session_rows() }}) as training_session
    union all
    select
        em.session_name,
        em.iteration + 1,
        step.prior_probability,
        step.m
    from em
    cross join u_vector
    cross join
        lateral (
            select
                coalesce(least(
                    greatest(sum(weighted.n_pairs * weighted.p) / sum(weighted.n_pairs), 1e-9),
                    1 - 1e-9
                ), em.prior_probability) as prior_probability,
                {{ er_m_step_vector() }} as m
            from (
                select
                    training.*,
                    1.0 / (
                        1.0 + (1.0 - em.prior_probability) / em.prior_probability
                        * exp(least(700, greatest(-700, {{ er_log_inverse_bayes_factor(
                        'training', 'em.m', 'u_vector.u', 'em.session_name'
                    ) }})))
                    ) as p
                from training
                where training.session_name = em.session_name
            ) as weighted
        ) as step
    where em.iteration < {{ iterations }}
),

estimated as (
    select
        em.session_name,
        slots.slot_index,
        em.m[slots.slot_index] as m_probability
    from em
    cross join slots
    where
        em.iteration = {{ iterations }}
        and {{ er_estimated_in('slots.comparison', 'em.session_name') }}
),

m_probabilities as (
    select
        slot_index,
        greatest(avg(m_probability order by session_name), 1e-6) as m_probability,
        string_agg(session_name, ', ' order by session_name) as estimated_in
    from estimated
    group by slot_index
),

levels as materialized (
    select
        slots.comparison,
        slots.level_number,
        slots.label as meaning,
        slots.is_tf,
        slots.slot_index,
        u_probabilities.u_probability,
        u_probabilities.n_random_pairs,
        m_probabilities.estimated_in,
        m_probabilities.m_probability
        / sum(m_probabilities.m_probability) over (partition by slots.comparison)
            as m_probability
    from slots
    inner join m_probabilities on slots.slot_index = m_probabilities.slot_index
    inner join u_probabilities on slots.slot_index = u_probabilities.slot_index
),

-- prior --------------------------------------------------------------------------------------

vectors as materialized (
    select
        array_agg(m_probability order by slot_index) as m,
        array_agg(u_probability order by slot_index) as u
    from levels
),

candidate_patterns as (
    select
        {{ er_level_names() | indent(8) }},
        count(*)::float8 as n_pairs
    from compared
    group by
        {{ er_level_names() | indent(8) }}
),

pattern_weights as materialized (
    select
        candidate_patterns.n_pairs,
        {{ er_log_inverse_bayes_factor('candidate_patterns', 'vectors.m', 'vectors.u') }}
            as log_inverse_bayes_factor
    from candidate_patterns
    cross join vectors
),

prior_rounds (iteration, expected_pairs) as (
    select
        0,
        sum(n_pairs)
    from candidate_patterns
    union all
    select
        prior_rounds.iteration + 1,
        step.expected_pairs
    from prior_rounds
    cross join records
    cross join
        lateral (
            select
                sum(
                    pattern_weights.n_pairs / (
                        1.0
                        + (
                            records.n_records * (records.n_records - 1) / 2
                            - prior_rounds.expected_pairs
                        )
                        / greatest(prior_rounds.expected_pairs, 1e-9)
                        * exp(least(700, greatest(-700, pattern_weights.log_inverse_bayes_factor)))
                    )
                ) as expected_pairs
            from pattern_weights
        ) as step
    where prior_rounds.iteration < 100
),

prior as (
    select
        prior_rounds.expected_pairs,
        prior_rounds.expected_pairs / (records.n_records * (records.n_records - 1) / 2)
            as prior_probability
    from prior_rounds
    cross join records
    where prior_rounds.iteration = 100
),

final as (
    select
        'level'::text as parameter,
        slot_index,
        comparison,
        level_number,
        meaning,
        is_tf,
        m_probability,
        u_probability,
        ln(m_probability / u_probability) / ln(2.0) as match_weight,
        n_random_pairs,
        estimated_in,
        null::float8 as prior_probability,
        null::float8 as expected_matching_pairs
    from levels
    union all
    select
        'prior'::text as parameter,
        null::integer as slot_index,
        null::text as comparison,
        null::integer as level_number,
        'P(two records are the same business)' as meaning,
        false as is_tf,
        null::float8 as m_probability,
        null::float8 as u_probability,
        ln(prior_probability / (1 - prior_probability)) / ln(2.0) as match_weight,
        null::float8 as n_random_pairs,
        null::text as estimated_in,
        prior_probability,
        expected_pairs as expected_matching_pairs
    from prior
)

select * from final

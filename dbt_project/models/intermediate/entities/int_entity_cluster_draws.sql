{#- Enable hash joins only: every join here is between large sets. -#}
{{ config(**er_session_hooks({'enable_nestloop': 'off'})) }}
{#- What the clusters could be, given the model's uncertainty: er_interval_draws draws in
    which each uncertain candidate pair (match probability in er_interval_band, by default
    0.01 to 0.99) is a match with its probability, a more probable pair always is and a
    less probable one never; the clusters of each draw are the connected components of
    its matches (umkm_connected_components). Only the records whose cluster an uncertain
    pair can change are drawn (int_entity_drawn_records); the others keep their cluster in
    every draw. Draw 0 is
    the clusters entity resolution chose. One row per draw and drawn record with the
    smallest rid of its cluster in that draw. A pair's draw is a hash of the pair and the
    draw number, so a rebuild draws the same. int_bridge_matching_draws turns the draws
    into intervals of the bridge and of the population estimate.

    The pairs' errors are not independent: the model's probabilities can be off for a
    whole class of pairs at once (Fellegi-Sunter takes the comparisons as independent, and
    data the model was not tuned on can differ from what it learned everywhere alike). So
    the draws share a factor, as in a one-factor Gaussian copula: a pair is a match in draw
    d when sqrt(c) * z_d + sqrt(1 - c) * e < the normal quantile of its probability, where
    c = er_draw_correlation, z_d is the draws' own normal value (their evenly spaced
    quantiles: draw d of n at (d - 0.5) / n) and e a standard normal of the pair and the
    draw (Box-Muller from two hashes). Each pair is still a match with its own
    probability over the draws; c is the correlation of any two pairs' latent values
    within a draw (0: independent). Its value was chosen on the default profile of the
    simulator (docs/ENTITY_RESOLUTION.md).

    Where the stewards' decisions calibrate a stratum of pairs (int_er_calibration), the
    draws also move that stratum's undecided pairs as a whole: in draw d every such pair's
    log-odds is shifted by logit(r) - logit(m), where m is the model's mean probability of
    the stratum's decided pairs and r the stratum's share of matches drawn for d from its
    posterior (normal, with the posterior's mean and standard deviation, a hash of the
    stratum and the draw, kept within 0.001..0.999). -#}
{%- set draws = er_setting('er_interval_draws') | int -%}
{%- set band = er_setting('er_interval_band') -%}
{%- set correlation = er_setting('er_draw_correlation') | float -%}
{#- every drawn record once per draw: the plan guard's bound grows by the draws -#}
{{ config(meta={'plan_fanout': draws}) }}
{#- a uniform number in (0, 1) from a hash of the pair and SEED (a draw number, or its
    negative for the draw's second number) -#}
{%- set uniform = "((" ~ er_pair_hash('uncertain.rid_a', 'uncertain.rid_b', 'SEED')
    ~ " & 9007199254740991)::float8 + 0.5) / 9007199254740992.0" -%}
{#- node id of a record in a draw: draw * 2^34 + rid (rids stay below 2^34) -#}
{%- set shift = 17179869184 -%}

with

-- a steward's decision is certain (decided_probability 1 or 0, so no stratum: macro
-- er_stratum, for the stewards' calibration)
scored as (
    select
        rid_a,
        rid_b,
        decided_probability as match_probability,
        {{ er_stratum('decided_probability', 'source_id_a', 'source_id_b') | indent(8) }}
            as stratum
    from {{ ref('int_entity_pairs_scored') }}
    where decided_probability >= {{ band[0] }}
),

-- threshold: the normal quantile of the pair's probability; its log-odds for the
-- calibration
uncertain as (
    select
        rid_a,
        rid_b,
        stratum,
        public.umkm_normal_quantile(match_probability) as threshold,
        ln(match_probability / (1 - match_probability)) as log_odds
    from scored
    where match_probability < {{ band[1] }}
),

calibrated as (
    select
        stratum,
        calibrated_share,
        calibrated_share_sd,
        ln(mean_decided_probability / (1 - mean_decided_probability)) as decided_log_odds
    from {{ ref('int_er_calibration') }}
    where is_calibrated
),

-- each calibrated stratum's share of matches in each draw, from its posterior
stratum_draws as (
    select
        calibrated.stratum,
        draw.n as draw,
        calibrated.decided_log_odds,
        calibrated.calibrated_share
        + calibrated.calibrated_share_sd
        * public.umkm_normal_quantile(
            ((hashint8extended(calibrated.stratum, draw.n) & 9007199254740991)::float8 + 0.5)
            / 9007199254740992.0
        ) as drawn_share
    from calibrated
    cross join generate_series(1, {{ draws }}) as draw (n)
),

-- its log-odds shift in the draw: logit(r) - logit(m), r kept within 0.001..0.999
stratum_shifts as (
    select
        stratum,
        draw,
        ln(least(0.999, greatest(0.001, drawn_share)))
        - ln(1 - least(0.999, greatest(0.001, drawn_share)))
        - decided_log_odds as shift
    from stratum_draws
),

drawn_records as (
    select
        rid,
        entity_rid
    from {{ ref('int_entity_drawn_records') }}
),

-- the strata (macro er_strata), for the draws' arrays of shifts
shift_arrays as (
    select
        draw.n as draw,
        array_agg(stratum_shifts.shift order by strata.stratum) as shifts
    from generate_series(1, {{ draws }}) as draw (n)
    cross join generate_series(1, {{ er_strata() | length }}) as strata (stratum)
    left join stratum_shifts
        on strata.stratum = stratum_shifts.stratum and draw.n = stratum_shifts.draw
    group by draw.n
),

-- shared: sqrt(c) * z_d, the part of every pair's latent value the draw shares; shifts:
-- the calibrated strata's log-odds shifts in the draw, indexed by stratum (null: none)
draw_numbers as (
    select
        shift_arrays.draw,
        shift_arrays.shifts,
        sqrt({{ correlation }})
        * public.umkm_normal_quantile((shift_arrays.draw - 0.5) / {{ draws }}) as shared
    from shift_arrays
),

-- the certain pairs among the drawn records join them the same way in every draw: their
-- components are computed once and each record's base (the smallest rid of its certain
-- component) is looked up in one map, so the draws join bases, not records (100 copies
-- of the certain pairs made most of the model's time: 73.3 s against 8.2 s at held-out
-- 0.1). A lookup, not a join: the planner cannot misjudge it. The map is read through a
-- scalar subquery (computed once), never joined: joined, every row carried the whole map
-- into the sorts (60 GB of temporary files at 0.1).
certain_edges as (
    select
        array_agg(scored.rid_a) as node_a,
        array_agg(scored.rid_b) as node_b
    from scored
    inner join drawn_records as a on scored.rid_a = a.rid
    inner join drawn_records as b on scored.rid_b = b.rid
    where scored.match_probability >= {{ band[1] }}
),

base_map as (
    select coalesce(jsonb_object_agg(cc.rid::text, cc.comp_rid), '{}'::jsonb) as bases
    from certain_edges
    cross join
        lateral public.umkm_connected_components(
            certain_edges.node_a, certain_edges.node_b
        ) as cc
    where certain_edges.node_a is not null and cc.rid <> cc.comp_rid
),

-- an uncertain pair is in a draw when its latent value falls below its threshold: the
-- draw's shared part plus sqrt(1 - c) times a standard normal from two uniform numbers in
-- (0, 1) of the pair's hash (Box-Muller); it joins the bases of its two records
sampled as (
    select
        draw_numbers.draw,
        coalesce(
            ((select base_map.bases from base_map) ->> uncertain.rid_a::text)::bigint,
            uncertain.rid_a
        ) as base_a,
        coalesce(
            ((select base_map.bases from base_map) ->> uncertain.rid_b::text)::bigint,
            uncertain.rid_b
        ) as base_b
    from uncertain
    cross join draw_numbers
    where
        draw_numbers.shared
        + sqrt(1 - {{ correlation }})
        * sqrt(-2 * ln({{ uniform | replace('SEED', 'draw_numbers.draw') }}))
        * cos(2 * pi() * {{ uniform | replace('SEED', '-draw_numbers.draw') }})
        < coalesce(
            public.umkm_normal_quantile(
                1 / (1 + exp(-(uncertain.log_odds + draw_numbers.shifts[uncertain.stratum])))
            ),
            uncertain.threshold
        )
),

components as (
    select
        cc.rid as node,
        cc.comp_rid as comp_node
    from (
        select
            array_agg(draw * {{ shift }} + base_a) as node_a,
            array_agg(draw * {{ shift }} + base_b) as node_b
        from sampled
        where base_a <> base_b
    ) as edges
    cross join lateral public.umkm_connected_components(edges.node_a, edges.node_b) as cc
    where edges.node_a is not null
),

based as (
    select
        drawn_records.rid,
        coalesce(
            ((select base_map.bases from base_map) ->> drawn_records.rid::text)::bigint,
            drawn_records.rid
        ) as base
    from drawn_records
),

drawn as (
    select
        draw_numbers.draw,
        based.rid,
        coalesce(components.comp_node % {{ shift }}, based.base) as entity_rid
    from based
    cross join draw_numbers
    left join components
        on components.node = draw_numbers.draw * {{ shift }} + based.base
),

final as (
    select
        0 as draw,
        rid,
        entity_rid
    from drawn_records
    union all
    select
        draw,
        rid,
        entity_rid
    from drawn
)

select * from final

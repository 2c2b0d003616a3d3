{#- The model's match probabilities checked against the stewards' decisions, stratum by
    stratum (macro er_stratum: the class of the pair by its sources' kinds, crossed with a
    band of the model's probability), and what the draws of the bridge's intervals take
    from them (int_entity_cluster_draws).

    In a stratum with at least er_calibration_min_labels decided pairs, the share of
    matches among the undecided pairs is estimated from the decisions: a Beta posterior
    whose prior is the model's own mean probability of the decided pairs with the weight
    of er_calibration_prior_pairs pairs, so few decisions move it little and many move it
    to what the stewards saw. The draws then shift every undecided pair of the stratum by
    the same log-odds, drawn per draw from that posterior: a model that is underconfident
    for a whole class of pairs moves the interval toward the truth, and the fewer the
    decisions, the wider it is. A stratum with fewer decisions keeps the model's
    probabilities. Decisions on a random sample of each stratum (the audit sample of
    stewardship.er_review_queue) estimate it without bias; the review band's decisions
    count too. One row per stratum that has a candidate pair. -#}
{%- set min_labels = er_setting('er_calibration_min_labels') | int -%}
{%- set prior = er_setting('er_calibration_prior_pairs') | float -%}

with

scored as (
    select
        {{ er_stratum('match_probability', 'source_id_a', 'source_id_b') | indent(8) }}
            as stratum,
        match_probability,
        (steward_label = 'match')::int as is_match
    from {{ ref('int_entity_pairs_scored') }}
    where {{ er_in_calibration_bands('match_probability') }}
),

-- what each stratum number stands for (macro er_strata)
layout as (
    select *
    from (
        values
        {%- for s in er_strata() %}
            (
                {{ s.stratum }}, '{{ s.pair_class }}',
                {{ s.band_low }}::float8, {{ s.band_high }}::float8
            )
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    ) as layout (stratum, pair_class, band_low, band_high)
),

strata as (
    select
        scored.stratum,
        layout.pair_class,
        layout.band_low,
        layout.band_high,
        count(*) as candidate_pairs,
        count(scored.is_match) as decided_pairs,
        coalesce(sum(scored.is_match), 0) as steward_matches,
        avg(scored.match_probability) as mean_model_probability,
        avg(scored.match_probability) filter (where scored.is_match is not null)
            as mean_decided_probability
    from scored
    inner join layout on scored.stratum = layout.stratum
    group by scored.stratum, layout.pair_class, layout.band_low, layout.band_high
),

posterior as (
    select
        *,
        decided_pairs >= {{ min_labels }} as is_calibrated,
        ({{ prior }} * mean_decided_probability + steward_matches)
        / ({{ prior }} + decided_pairs) as posterior_share  -- strictly within 0..1 (the prior)
    from strata
),

final as (
    select
        stratum,
        pair_class,
        band_low,
        band_high,
        candidate_pairs,
        decided_pairs,
        steward_matches,
        mean_model_probability,
        mean_decided_probability,
        is_calibrated,
        case when is_calibrated then posterior_share end as calibrated_share,
        case
            when is_calibrated
                then sqrt(
                    posterior_share * (1 - posterior_share) / ({{ prior }} + decided_pairs + 1)
                )
        end as calibrated_share_sd,
        case
            when is_calibrated
                then
                    ln(posterior_share / (1 - posterior_share))
                    - ln(mean_decided_probability / (1 - mean_decided_probability))
            else 0
        end as log_odds_shift
    from posterior
)

select * from final

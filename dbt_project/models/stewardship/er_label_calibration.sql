{#- The model against the stewards' decisions: for the pairs they decided, by band of the
    model's match probability, how many were matches and the mean probability the model
    gave them, and the Brier score over all decided pairs (a pair blocking did not propose
    has no probability and is left out). A calibrated model's probabilities match the
    stewards' share of matches in each band. -#}
with

decided as (
    select
        match_probability,
        (steward_label = 'match')::int as is_match
    from {{ ref('int_entity_pairs_scored') }}
    where steward_label is not null and match_probability is not null
),

banded as (
    select
        width_bucket(match_probability, array[0.1, 0.3, 0.5, 0.7, 0.9]::float8[]) as band,
        match_probability,
        is_match
    from decided
),

final as (
    select
        band,
        (array['0-0.1', '0.1-0.3', '0.3-0.5', '0.5-0.7', '0.7-0.9', '0.9-1'])[band + 1]
            as probability_band,
        count(*) as decided_pairs,
        sum(is_match) as steward_matches,
        avg(is_match::float8) as steward_match_share,
        avg(match_probability) as mean_model_probability,
        (select avg(power(d.match_probability - d.is_match, 2)) from decided as d)
            as brier_score
    from banded
    group by band
)

select * from final

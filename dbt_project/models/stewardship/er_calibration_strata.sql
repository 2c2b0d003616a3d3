{#- The stewards' calibration of the model by stratum (int_er_calibration), where the
    stewards can read it. -#}
select
    stratum,
    pair_class,
    band_low,
    band_high,
    candidate_pairs,
    decided_pairs,
    steward_matches,
    mean_decided_probability,
    calibrated_share,
    log_odds_shift
from {{ ref('int_er_calibration') }}

{#- How many UMKM are online: the distinct businesses seen on any list ('observed'), and
    capture-recapture estimates that add those on no list, each with a 95% interval.
    Lists: marketplaces (a business with an active counted account), Kemenkop's registry
    (an active record), Kemenperin's e-Smart IKM (a participant valid at the snapshot).
    For the three-list models the marketplaces are split in two lists by platform
    (var population_marketplace_list_a). Large enterprises are never UMKM and are left out.
    The intervals hold two uncertainties: sampling (the capture-recapture model's own) and
    matching: each estimate is computed again in every draw of entity resolution's
    uncertain links (int_bridge_matching_draws), their spread added to the sampling's.
    Formulas and assumptions: _population__docs.md. -#}
{%- set list_a_platforms = var('population_marketplace_list_a') -%}
{#- the independence model's lists: marketplaces A and B, the registry, and each government
    list (macro independence_list_sizes) -#}
{%- set list_sizes = independence_list_sizes() -%}
{%- set government_lists_used = government_lists_named() -%}
{%- set next_inverse = ')\n' ~ ' ' * 20 ~ '- 1 / (estimate - ' -%}
{%- set iterations = 60 -%}
{%- set z = z_95() -%}
{%- set listed = ['n_observed', 'n_marketplaces', 'n_registry', 'n_both', 'n_two_lists',
                  'n100', 'n010', 'n001', 'n110', 'n101', 'n011', 'n111'] -%}

with

entities as (
    select
        snapshot,
        entity_id,
        is_online_umkm,
        is_active_online,
        is_in_registry,
        is_in_esmart,
        active_platforms,
        government_lists,
        is_on_government_list
    from {{ ref('fct_umkm_entity_snapshots') }}
),

-- the capture histories, counted (macro population_list_counts)
list_counts as (
    {{ population_list_counts('entities', ['snapshot'], list_a_platforms) }}
),

-- the same counts in each draw of the uncertain links
drawn_counts as (
    select
        list_counts.snapshot,
        draws.draw,
        {{ moved_columns('list_counts', 'draws', listed) | indent(8) }}
    from list_counts
    inner join {{ ref('int_bridge_matching_draws') }} as draws
        on list_counts.snapshot = draws.snapshot
),

-- per method, the spread of the estimate over the draws: its mean shift from the
-- estimate on the chosen clusters and its standard deviation
matching_spread as (
    select
        drawn.snapshot,
        spread.method,
        avg(spread.estimate) - max(spread.chosen) as mean_shift,
        coalesce(stddev_samp(spread.estimate), 0) as sd
    from drawn_counts as drawn
    inner join list_counts as chosen on drawn.snapshot = chosen.snapshot
    cross join
        lateral (
            values
            ('observed', drawn.n_observed::float8, chosen.n_observed::float8),
            (
                'chapman_2list',
                {{ chapman('drawn') }},
                {{ chapman('chosen') }}
            ),
            (
                'loglinear_3list_pairwise',
                drawn.n100 + drawn.n010 + drawn.n001 + drawn.n110 + drawn.n101 + drawn.n011
                + drawn.n111 + {{ pairwise_unseen('drawn') }},
                chosen.n100 + chosen.n010 + chosen.n001 + chosen.n110 + chosen.n101 + chosen.n011
                + chosen.n111 + {{ pairwise_unseen('chosen') }}
            )
        ) as spread (method, estimate, chosen)
    group by drawn.snapshot, spread.method
),

three_list_cells as (
    select
        snapshot,
        {{ list_sizes | join(',\n        ') }},
        n_lists,
        n100 + n010 + n001 + n110 + n101 + n011 + n111 as n_three_lists,
        -- Haldane's correction: add 0.5 to every observed cell when any of them is empty
        case
            when least(n100, n010, n001, n110, n101, n011, n111) = 0 then 0.5 else 0
        end as correction,
        n100,
        n010,
        n001,
        n110,
        n101,
        n011,
        n111
    from list_counts
),

observed as (
    select
        snapshot,
        'observed' as method,  -- noqa: RF04
        n_observed as estimate,
        n_observed as ci_low,
        n_observed as ci_high,
        0::numeric as std_error,
        n_observed as listed,
        'marketplaces (active counted account); kemenkopukm registry (active record); '
        || 'kemenperin e-Smart IKM (participant)'
        || '{{ government_lists_used }}' as lists_used,
        'A lower bound: distinct businesses after entity resolution on any list; those '
        || 'on no list are not counted. Large enterprises excluded. The interval is the '
        || 'spread over the draws of entity resolution''s uncertain links.' as assumptions
    from list_counts
),

chapman as (
    select
        snapshot,
        n_two_lists,
        (n_marketplaces + 1) * (n_registry + 1) / (n_both + 1) - 1 as estimate,
        (n_marketplaces + 1) * (n_registry + 1) * (n_marketplaces - n_both)
        * (n_registry - n_both)
        / ((n_both + 1) * (n_both + 1) * (n_both + 2)) as sampling_variance
    from list_counts
),

chapman_rows as (
    select
        snapshot,
        'chapman_2list' as method,  -- noqa: RF04
        estimate,
        greatest(n_two_lists, estimate - {{ z }} * sqrt(sampling_variance)) as ci_low,
        estimate + {{ z }} * sqrt(sampling_variance) as ci_high,
        sqrt(sampling_variance) as std_error,
        n_two_lists as listed,
        'marketplaces (active counted account); kemenkopukm registry (active record)'
            as lists_used,
        'Chapman form of Lincoln-Petersen: closed population at the snapshot; the two '
        || 'lists independent (being on a marketplace does not change the chance of being '
        || 'registered); every business equally catchable within a list. Normal 95% '
        || 'interval, bounded below by the businesses seen, from the sampling variance and '
        || 'the spread over the draws of entity resolution''s uncertain links.'
            as assumptions
    from chapman
),

pairwise as (
    select
        snapshot,
        n_three_lists,
        (n111 + correction) * (n100 + correction) * (n010 + correction) * (n001 + correction)
        / ((n110 + correction) * (n101 + correction) * (n011 + correction)) as unseen,
        sqrt(
            1 / (n100 + correction) + 1 / (n010 + correction) + 1 / (n001 + correction)
            + 1 / (n110 + correction) + 1 / (n101 + correction) + 1 / (n011 + correction)
            + 1 / (n111 + correction)
        ) as se_log_unseen
    from three_list_cells
),

pairwise_rows as (
    select
        snapshot,
        'loglinear_3list_pairwise' as method,  -- noqa: RF04
        n_three_lists + unseen as estimate,
        n_three_lists + unseen * exp(-{{ z }} * se_log_unseen) as ci_low,
        n_three_lists + unseen * exp({{ z }} * se_log_unseen) as ci_high,
        unseen * se_log_unseen as std_error,
        n_three_lists as listed,
        'marketplaces A ({{ list_a_platforms | join(", ") }}); marketplaces B (the others); '
        || 'kemenkopukm registry' as lists_used,
        'Log-linear model with all two-way interactions, no three-way interaction '
        || '(closed form: n000 = n111 n100 n010 n001 / (n110 n101 n011)); closed population; '
        || 'homogeneous capture within a list. 95% interval on the log scale of the unseen '
        || 'count (delta method, Poisson cells); 0.5 added to every cell when one is empty.'
            as assumptions
    from pairwise
),

-- independence model [A][B][C] (Darroch's M_t) over every list: marketplaces A and B, the
-- registry, and each government list. N solves N - n = N * prod(1 - n_j / N), found by
-- fixed-point iteration from N = n (monotone, converges for n_j < n). Each step is
-- materialized: inlined, the repeated references to the previous estimate would grow the
-- expression exponentially with the number of steps.
{%- set product = '(1 - ' ~ list_sizes | join(' / estimate) * (1 - ') ~ ' / estimate)' %}
independence_0 as materialized (
    select
        snapshot,
        n_lists,
        {{ list_sizes | join(',\n        ') }},
        n_lists as estimate
    from three_list_cells
),
{% for i in range(1, iterations + 1) %}
    independence_{{ i }} as materialized (
        select
            snapshot,
            n_lists,
            {{ list_sizes | join(',\n            ') }},
            case
                when
                    estimate = 0
                    or {{ product }} >= 1
                    then estimate
                else
                    n_lists / (1 - {{ product }})
            end as estimate
        from independence_{{ i - 1 }}
    ),
{% endfor %}

independence as (
    select
        snapshot,
        n_lists,
        estimate,
        -- Darroch (1958): var(N) = 1 / (1/(N-n) + (k-1)/N - sum 1/(N-n_j)), k lists
        case
            when
                estimate > n_lists
                and estimate > greatest({{ list_sizes | join(', ') }})
                then 1 / nullif(
                    1 / (estimate - n_lists) + {{ list_sizes | length - 1 }} / estimate
                    - 1 / (estimate - {{ list_sizes | join(next_inverse) }}),
                    0
                )
        end as variance
    from independence_{{ iterations }}
),

independence_rows as (
    select
        snapshot,
        'loglinear_3list_independence' as method,  -- noqa: RF04
        estimate,
        greatest(n_lists, estimate - {{ z }} * sqrt(greatest(variance, 0))) as ci_low,
        estimate + {{ z }} * sqrt(greatest(variance, 0)) as ci_high,
        sqrt(greatest(variance, 0)) as std_error,
        n_lists as listed,
        'marketplaces A ({{ list_a_platforms | join(", ") }}); marketplaces B (the others); '
        || 'kemenkopukm registry'
        || '{{ government_lists_used }}' as lists_used,
        'Log-linear independence model [A][B][C] (Darroch''s M_t): closed population, the '
        || '{{ "three" if list_sizes | length == 3 else list_sizes | length }}'
        || ' lists independent, homogeneous capture within a list; maximum likelihood '
        || 'by fixed-point iteration; normal 95% interval from the asymptotic variance.'
            as assumptions
    from independence
),

unioned as (
    select * from observed
    union all
    select * from chapman_rows
    union all
    select * from pairwise_rows
    union all
    select * from independence_rows
),

-- the matching's spread added to the sampling's: the interval moves by the mean shift over
-- the draws, and each half-width grows in quadrature by z times the draws' standard
-- deviation. The independence model (an iteration, not a formula) takes Chapman's spread
-- relative to its estimate.
with_matching as (
    select
        unioned.snapshot,
        unioned.method,
        unioned.estimate,
        unioned.listed,
        unioned.lists_used,
        unioned.assumptions,
        coalesce(
            own.mean_shift, chapman_spread.mean_shift / nullif(chapman.estimate, 0)
            * unioned.estimate, 0
        ) as mean_shift,
        coalesce(own.sd, chapman_spread.sd / nullif(chapman.estimate, 0) * unioned.estimate, 0)
            as matching_sd,
        unioned.ci_low,
        unioned.ci_high,
        unioned.std_error
    from unioned
    left join matching_spread as own
        on unioned.snapshot = own.snapshot and unioned.method = own.method  -- noqa: RF04
    left join matching_spread as chapman_spread
        on unioned.snapshot = chapman_spread.snapshot and chapman_spread.method = 'chapman_2list'
    left join chapman_rows as chapman on unioned.snapshot = chapman.snapshot
),

combined as (
    select
        snapshot,
        method,
        estimate,
        listed,
        lists_used,
        assumptions,
        least(estimate, greatest(
            case when method = 'observed' then 0 else listed end,
            estimate + mean_shift
            - sqrt(power(estimate - ci_low, 2) + power({{ z }} * matching_sd, 2))
        )) as ci_low,
        greatest(
            estimate,
            estimate + mean_shift
            + sqrt(power(ci_high - estimate, 2) + power({{ z }} * matching_sd, 2))
        ) as ci_high,
        sqrt(power(std_error, 2) + power(matching_sd, 2)) as std_error
    from with_matching
),

final as (
    select
        snapshot,
        method,
        round(estimate)::bigint as estimate,
        floor(ci_low)::bigint as ci_low,
        ceil(ci_high)::bigint as ci_high,
        round(std_error::numeric, 1) as std_error,
        listed::bigint as listed,
        lists_used,
        assumptions
    from combined
)

select * from final

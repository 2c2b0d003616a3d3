{#- How many UMKM are online: the distinct businesses seen on any list ('observed'), and
    capture-recapture estimates that add those on no list, each with a 95% interval.
    Lists: marketplaces (a business with an active counted account), Kemenkop's registry
    (an active record), Kemenperin's e-Smart IKM (a participant valid at the snapshot).
    For the three-list models the marketplaces are split in two lists by platform
    (var population_marketplace_list_a). Large enterprises are never UMKM and are left out.
    Formulas and assumptions: _population__docs.md. -#}
{%- set list_a_platforms = var('population_marketplace_list_a', ['tokopedia', 'shopee']) -%}
{%- set iterations = 60 -%}
{%- set z = 1.959964 -%}
{#- Relative error the entity matching adds to the headline estimate (1 - pairwise recall as
    measured by `umkm eval`: 0.0027 at scale 0.01, 0.0029 at 0.1): a missed match lowers
    the overlap m and raises N = n1 n2 / m by about as much. -#}
{%- set matching_error = var('population_matching_error', 0.003) -%}

with

entities as (
    select
        snapshot,
        entity_id,
        is_active_online,
        is_in_registry,
        is_in_esmart,
        active_platforms
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_online_umkm
),

histories as (
    select
        snapshot,
        entity_id,
        is_active_online as on_marketplaces,
        is_in_registry as on_registry,
        is_in_esmart as on_esmart,
        (
            is_active_online
            and active_platforms && array[{{ "'" ~ list_a_platforms | join("', '") ~ "'" }}]::text[]
        ) as on_marketplaces_a,
        (
            is_active_online
            and not active_platforms <@ array[
                {{ "'" ~ list_a_platforms | join("', '") ~ "'" }}
            ]::text[]
        ) as on_marketplaces_b
    from entities
),

-- the capture histories, counted
list_counts as (
    select
        snapshot,
        count(*)::numeric as n_observed,
        count(*) filter (where on_marketplaces)::numeric as n_marketplaces,
        count(*) filter (where on_registry)::numeric as n_registry,
        count(*) filter (where on_marketplaces and on_registry)::numeric as n_both,
        count(*) filter (
            where on_marketplaces or on_registry
        )::numeric as n_two_lists,
        {%- for a in [0, 1] %}{% for b in [0, 1] %}{% for c in [0, 1] %}
            {%- if a + b + c > 0 %}
                count(*) filter (
                    where
                    on_marketplaces_a = {{ 'true' if a else 'false' }}
                    and on_marketplaces_b = {{ 'true' if b else 'false' }}
                    and on_registry = {{ 'true' if c else 'false' }}
                )::numeric as n{{ a }}{{ b }}{{ c }},
            {%- endif %}
        {%- endfor %}{% endfor %}{% endfor %}
        count(*) filter (where on_marketplaces_a)::numeric as n_list_a,
        count(*) filter (where on_marketplaces_b)::numeric as n_list_b
    from histories
    group by snapshot
),

three_list_cells as (
    select
        snapshot,
        n_list_a,
        n_list_b,
        n_registry,
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
        || 'kemenperin e-Smart IKM (participant)' as lists_used,
        'A lower bound: distinct businesses after entity resolution on any list; those '
        || 'on no list are not counted. Large enterprises excluded.' as assumptions
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

chapman_with_matching as (
    select
        snapshot,
        n_two_lists,
        estimate,
        sampling_variance
        + power(estimate * {{ matching_error }}, 2) as variance
    from chapman
),

chapman_rows as (
    select
        snapshot,
        'chapman_2list' as method,  -- noqa: RF04
        estimate,
        greatest(n_two_lists, estimate - {{ z }} * sqrt(variance)) as ci_low,
        estimate + {{ z }} * sqrt(variance) as ci_high,
        sqrt(variance) as std_error,
        n_two_lists as listed,
        'marketplaces (active counted account); kemenkopukm registry (active record)'
            as lists_used,
        'Chapman form of Lincoln-Petersen: closed population at the snapshot; the two '
        || 'lists independent (being on a marketplace does not change the chance of being '
        || 'registered); every business equally catchable within a list; matching errors '
        || 'only as measured. Normal 95% interval, bounded below by the businesses seen; '
        || 'its variance adds the matching error (relative {{ matching_error }}, 1 - the '
        || 'measured pairwise recall) to the sampling variance.' as assumptions
    from chapman_with_matching
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

-- independence model [A][B][C] (Darroch's M_t): N solves N - n = N * prod(1 - n_j / N),
-- found by fixed-point iteration from N = n (monotone, converges for n_j < n). Each step is
-- materialized: inlined, the repeated references to the previous estimate would grow the
-- expression exponentially with the number of steps.
independence_0 as materialized (
    select
        snapshot,
        n_three_lists,
        n_list_a,
        n_list_b,
        n_registry,
        n_three_lists as estimate
    from three_list_cells
),
{% for i in range(1, iterations + 1) %}
    independence_{{ i }} as materialized (
        select
            snapshot,
            n_three_lists,
            n_list_a,
            n_list_b,
            n_registry,
            case
                when
                    estimate = 0
                    or (1 - n_list_a / estimate) * (1 - n_list_b / estimate)
                    * (1 - n_registry / estimate) >= 1
                    then estimate
                else
                    n_three_lists / (
                        1 - (1 - n_list_a / estimate) * (1 - n_list_b / estimate)
                        * (1 - n_registry / estimate)
                    )
            end as estimate
        from independence_{{ i - 1 }}
    ),
{% endfor %}

independence as (
    select
        snapshot,
        n_three_lists,
        estimate,
        -- Darroch (1958): var(N) = 1 / (1/(N-n) + (k-1)/N - sum 1/(N-n_j))
        case
            when
                estimate > n_three_lists
                and estimate > greatest(n_list_a, n_list_b, n_registry)
                then 1 / nullif(
                    1 / (estimate - n_three_lists) + 2 / estimate
                    - 1 / (estimate - n_list_a) - 1 / (estimate - n_list_b)
                    - 1 / (estimate - n_registry),
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
        greatest(n_three_lists, estimate - {{ z }} * sqrt(greatest(variance, 0))) as ci_low,
        estimate + {{ z }} * sqrt(greatest(variance, 0)) as ci_high,
        sqrt(greatest(variance, 0)) as std_error,
        n_three_lists as listed,
        'marketplaces A ({{ list_a_platforms | join(", ") }}); marketplaces B (the others); '
        || 'kemenkopukm registry' as lists_used,
        'Log-linear independence model [A][B][C] (Darroch''s M_t): closed population, the '
        || 'three lists independent, homogeneous capture within a list; maximum likelihood '
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

final as (
    select
        snapshot,
        method,
        round(estimate)::bigint as estimate,
        floor(ci_low)::bigint as ci_low,
        ceil(ci_high)::bigint as ci_high,
        round(std_error, 1) as std_error,
        listed::bigint as listed,
        lists_used,
        assumptions
    from unioned
)

select * from final

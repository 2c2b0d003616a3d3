{#- Entity resolution settings and SQL building blocks (models/intermediate/entities).

    The model is Fellegi-Sunter: every candidate pair is compared attribute by attribute,
    each comparison giving a level (er_comparisons below: the levels are checked from the
    most to the least alike; 0 = none of them, -1 = a value missing on either side). Each
    level has m = P(level | same business) and u = P(level | different businesses), both
    estimated from the data at every build (docs/ENTITY_RESOLUTION.md):
      - u from random pairs of records (int_er_random_pairs), which are almost all
        different businesses;
      - m by expectation-maximisation over the candidate pairs (int_er_parameters), in
        training sessions each restricted to pairs that agree on one attribute, whose own
        m that session does not estimate (as Splink does);
      - the prior, P(two records are the same business), as the fixed point of the
        expected number of matching pairs among the candidates.
    A pair's match weight is log2(prior odds) + sum of log2(m/u) over its comparisons; for
    an exact agreement on a value with a term frequency (name, owner, phone, e-mail), u is
    that value's frequency among the records, so "Berkah Jaya" weighs less than a rare
    name. The match probability is 2^w / (1 + 2^w); a link is a pair at or above
    er_match_probability. Settings live here, in one place. -#}

{% macro er_setting(name) -%}
{%- set defaults = {
    'er_match_probability': 0.98,
    'er_strong_probability': 0.999,
    'er_review_band': [0.2, 0.99],
    'er_max_block_size': 30,
    'er_max_weak_block_size': 5,
    'er_window': 2,
    'er_max_cluster_size': 20,
    'er_u_sample_pairs': 1000000,
    'er_em_iterations': 40,
    'er_interval_draws': 100,
    'er_interval_band': [0.01, 0.99],
    'er_draw_correlation': 0.3,
    'er_calibration_bands': [0.01, 0.2, 0.5, 0.8, 0.99],
    'er_calibration_min_labels': 10,
    'er_calibration_prior_pairs': 2,
    'er_audit_pairs': 50,
    'er_work_mem': '256MB',
} -%}
{{- return(var(name, defaults[name])) -}}
{%- endmacro %}

{#- The strata in which the stewards' decisions calibrate the model (int_er_calibration)
    and from which the audit sample is drawn (stewardship.er_review_queue): the class of a
    pair by the kinds of its two sources (both marketplaces, a marketplace and a list, or
    two lists: the registry, the ministry lists), crossed with bands of the model's match
    probability (er_calibration_bands, which span er_interval_band). The model can be off
    for one class and not another (Fellegi-Sunter learns one set of weights for all). -#}
{% macro er_pair_classes() -%}
{{- return(['marketplace', 'marketplace-list', 'list']) -}}
{%- endmacro %}

{#- The strata, in the order of their numbers: one dict per stratum with `stratum` (1 to
    classes x bands), `pair_class` and the band's `band_low` and `band_high`. er_stratum
    numbers a pair in the same layout (class index x bands + band), and the two macros are
    the only places that know it. -#}
{% macro er_strata() -%}
{%- set bands = er_setting('er_calibration_bands') -%}
{%- set strata = [] -%}
{%- for pair_class in er_pair_classes() -%}
    {%- set class_index = loop.index0 -%}
    {%- for low in bands[:-1] -%}
        {%- do strata.append({
            'stratum': class_index * (bands | length - 1) + loop.index,
            'pair_class': pair_class,
            'band_low': low,
            'band_high': bands[loop.index],
        }) -%}
    {%- endfor -%}
{%- endfor -%}
{{- return(strata) -}}
{%- endmacro %}

{#- True when a match probability is within er_calibration_bands (a pair there has a
    stratum). -#}
{% macro er_in_calibration_bands(probability) -%}
{%- set bands = er_setting('er_calibration_bands') -%}
{{ probability }} >= {{ bands[0] }} and {{ probability }} < {{ bands[-1] }}
{%- endmacro %}

{#- A pair's stratum (er_strata), from the two source ids and the model's match
    probability (null outside er_calibration_bands). -#}
{% macro er_stratum(probability, source_a, source_b) -%}
{%- set bands = er_setting('er_calibration_bands') -%}
{%- set marketplaces = "('" ~ marketplace_ids() | join("', '") ~ "')" -%}
case
    when {{ er_in_calibration_bands(probability) }} then
        (case
            when {{ source_a }} in {{ marketplaces }} and {{ source_b }} in {{ marketplaces }} then 0
            when {{ source_a }} in {{ marketplaces }} or {{ source_b }} in {{ marketplaces }} then 1
            else 2
        end) * {{ bands | length - 1 }}
        + width_bucket({{ probability }}, array[{{ bands | join(', ') }}]::float8[])
end
{%- endmacro %}

{#- A 64-bit hash of a candidate pair (its two rids) and a seed: the draws' random numbers
    (int_entity_cluster_draws, seed = the draw) and the audit sample's order
    (stewardship.er_review_queue, seed 0). -#}
{% macro er_pair_hash(rid_a, rid_b, seed) -%}
hashint8extended({{ rid_a }} * 1000003 + {{ rid_b }}, {{ seed }})
{%- endmacro %}

{#- The comparisons, each with its levels from the most alike down. In the SQL texts `{a}`
    and `{b}` stand for the two records' aliases. `applies`: when the comparison says
    anything at all (else level -1, like a missing value). `levels`: conditions, the first
    that holds gives the level. `bands`: then the level by a similarity value against
    ascending lower bounds (width_bucket: the value is computed once). `tf`: the exact
    level whose u is replaced by the agreeing value's frequency among the records
    (int_er_term_frequencies, kind = the comparison's name). `group`: comparisons that
    describe one thing other than the business (macro er_sum_weights): the owner's name,
    e-mail and national ID all describe the owner, and one person can own several
    businesses, each carrying the same three, so their agreements are not independent
    evidence. The commodity `Lainnya` (goods outside the nine, macro
    commodity_of_categories) is a catch-all, not a value two records can agree on: the
    comparison does not apply to it. -#}
{% macro er_comparisons() -%}
{{- return([
    {
        'name': 'name',
        'applies': "{a}.name_norm is not null and {b}.name_norm is not null",
        'levels': [
            {'label': 'equal', 'when': "{a}.name_norm = {b}.name_norm", 'tf': true},
            {'label': 'the same words in another order', 'when': "{a}.name_sorted = {b}.name_sorted"},
        ],
        'bands': {
            'value': "similarity({a}.name_norm, {b}.name_norm)",
            'bounds': [0.4, 0.6, 0.8],
            'labels': ['trigram similarity 0.4 or more', 'trigram similarity 0.6 or more',
                       'trigram similarity 0.8 or more'],
        },
    },
    {
        'name': 'owner',
        'group': 'owner',
        'applies': "{a}.owner_hash is not null and {b}.owner_hash is not null",
        'levels': [
            {'label': 'equal (titles, degrees and word order aside)', 'when': "{a}.owner_hash = {b}.owner_hash", 'tf': true},
            {'label': 'one name within the other, initials too',
             'when': "{a}.owner_words && {b}.owner_words and ("
                ~ "({a}.owner_words <@ {b}.owner_words and {a}.owner_initials <@ {b}.owner_initials)"
                ~ " or ({b}.owner_words <@ {a}.owner_words and {b}.owner_initials <@ {a}.owner_initials))"},
            {'label': 'a word and the initials agree', 'when': "{a}.owner_words && {b}.owner_words and {a}.owner_initials = {b}.owner_initials"},
            {'label': 'a word agrees', 'when': "{a}.owner_words && {b}.owner_words"},
        ],
    },
    {
        'name': 'address',
        'applies': "{a}.street_key is not null and {b}.street_key is not null",
        'levels': [
            {'label': 'same street and number', 'when': "{a}.address_key = {b}.address_key"},
            {'label': 'same street', 'when': "{a}.street_key = {b}.street_key"},
        ],
    },
    {
        'name': 'region',
        'applies': "{a}.province_code is not null and {b}.province_code is not null",
        'levels': [
            {'label': 'same regency', 'when': "{a}.match_region = {b}.match_region"},
            {'label': 'same province', 'when': "{a}.province_code = {b}.province_code"},
        ],
    },
    {
        'name': 'phone',
        'applies': "{a}.phone_hash is not null and {b}.phone_hash is not null",
        'levels': [{'label': 'equal', 'when': "{a}.phone_hash = {b}.phone_hash", 'tf': true}],
    },
    {
        'name': 'email',
        'group': 'owner',
        'applies': "{a}.email_hash is not null and {b}.email_hash is not null",
        'levels': [{'label': 'equal', 'when': "{a}.email_hash = {b}.email_hash", 'tf': true}],
    },
    {
        'name': 'licence',
        'applies': "{a}.licence is not null and {b}.licence is not null",
        'levels': [{'label': 'equal', 'when': "{a}.licence = {b}.licence"}],
    },
    {
        'name': 'national_id',
        'group': 'owner',
        'applies': "{a}.nik_hash is not null and {b}.nik_hash is not null",
        'levels': [{'label': 'equal', 'when': "{a}.nik_hash = {b}.nik_hash"}],
    },
    {
        'name': 'platform_named',
        'applies': "({a}.platform is not null and {b}.platforms_named is not null)"
            ~ " or ({b}.platform is not null and {a}.platforms_named is not null)",
        'levels': [
            {'label': "the list names the account's marketplace",
             'when': "{a}.platform = any({b}.platforms_named) or {b}.platform = any({a}.platforms_named)"},
        ],
    },
    {
        'name': 'commodity',
        'applies': "{a}.commodity <> 'Lainnya' and {b}.commodity <> 'Lainnya'",
        'levels': [{'label': 'equal', 'when': "{a}.commodity = {b}.commodity"}],
    },
]) -}}
{%- endmacro %}

{#- A comparison's levels from the least alike up, as (level number, label, tf) for the
    parameters table: 0 is "none of them"; bands take 1.., the conditions the numbers
    above. -#}
{% macro er_level_list(comparison) -%}
{%- set out = [(0, 'none of these', false)] -%}
{%- set bands = comparison.get('bands') -%}
{%- if bands -%}
    {%- for label in bands.labels -%}
        {%- do out.append((loop.index, label, false)) -%}
    {%- endfor -%}
{%- endif -%}
{%- set base = (bands.bounds | length) if bands else 0 -%}
{%- for level in comparison.levels | reverse -%}
    {%- do out.append((base + loop.index, level.label, level.get('tf', false))) -%}
{%- endfor -%}
{{- return(out) -}}
{%- endmacro %}

{#- The SQL of one comparison's level for records `a` and `b` (aliases): -1 when the
    comparison does not apply, then the first condition that holds (its number from
    er_level_list), then the similarity band, else 0. -#}
{% macro er_level(comparison, a, b) -%}
{%- set bands = comparison.get('bands') -%}
{%- set base = (bands.bounds | length) if bands else 0 -%}
{%- set n = comparison.levels | length -%}
case
    when not coalesce(({{ er_fill(comparison.applies, a, b) }}), false) then -1
    {%- for level in comparison.levels %}
    when {{ er_fill(level.when, a, b) }} then {{ base + n - loop.index0 }}
    {%- endfor %}
    {%- if bands %}
    else width_bucket({{ er_fill(bands.value, a, b) }}, array[{{ bands.bounds | join(', ') }}]::float8[])
    {%- else %}
    else 0
    {%- endif %}
end
{%- endmacro %}

{% macro er_fill(text, a, b) -%}
{{- text | replace('{a}', a) | replace('{b}', b) -}}
{%- endmacro %}

{#- Every comparison's level as a column `level_<name>` (smallint). -#}
{% macro er_level_columns(a, b) -%}
{%- for comparison in er_comparisons() %}
    ({{ er_level(comparison, a, b) }})::smallint as level_{{ comparison.name }}
    {{- "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- Session settings of an entity-resolution model (session_hooks): work_mem (er_work_mem),
    then `settings` in order, e.g. `{{ config(**er_session_hooks({'enable_nestloop': 'off'})) }}`. -#}
{% macro er_session_hooks(settings={}) -%}
{%- set all = {'work_mem': "'" ~ er_setting('er_work_mem') ~ "'"} -%}
{%- do all.update(settings) -%}
{{- return(session_hooks(all)) -}}
{%- endmacro %}

{#- Parallel workers at zero setup and tuple costs (PostgreSQL's defaults kept these plans
    serial while the second core idles during entity resolution). -#}
{% macro er_parallel_settings() -%}
{{- return({'parallel_setup_cost': '0', 'parallel_tuple_cost': '0'}) -}}
{%- endmacro %}

{#- Generic test: every edge of `edges_model` joins two records with the same comp_rid in the
    tested model (the comp_rid propagation converged). -#}
{% test edges_within_one_cluster(model, edges_model, edges_where='true', column_name='entity_rid') %}
select
    e.rid_a,
    e.rid_b
from {{ edges_model }} as e
inner join {{ model }} as a on e.rid_a = a.rid
inner join {{ model }} as b on e.rid_b = b.rid
where a.{{ column_name }} <> b.{{ column_name }} and ({{ edges_where }})
{% endtest %}

{#- The training sessions of the m probabilities (int_er_parameters): each takes the
    candidate pairs that agree exactly (top level) on its `fixed` comparisons and estimates
    the m of every other comparison by EM; a comparison's m is the mean over the sessions
    that estimate it. Agreeing on a phone, or on the name or the owner within one regency,
    makes a matching pair likely enough for EM to find the two classes, and each session
    leaves alone what it selected on (Splink's training sessions). -#}
{% macro er_training_sessions() -%}
{{- return([
    {'name': 'same_phone', 'fixed': ['phone']},
    {'name': 'same_name_regency', 'fixed': ['name', 'region']},
    {'name': 'same_owner_regency', 'fixed': ['owner', 'region']},
]) -}}
{%- endmacro %}

{#- The top level of a comparison (its most alike). -#}
{% macro er_top_level(name) -%}
{%- for comparison in er_comparisons() if comparison.name == name -%}
    {{- return((er_level_list(comparison) | length) - 1) -}}
{%- endfor -%}
{%- endmacro %}

{#- The parameter slots in order, as (comparison, level, label, tf, 1-based index), and
    each comparison's first index: the layout of the m and u arrays of int_er_parameters. -#}
{% macro er_slots() -%}
{%- set slots = [] -%}
{%- for comparison in er_comparisons() -%}
    {%- for level, label, tf in er_level_list(comparison) -%}
        {%- do slots.append((comparison.name, level, label, tf, slots | length + 1)) -%}
    {%- endfor -%}
{%- endfor -%}
{{- return(slots) -}}
{%- endmacro %}

{% macro er_first_slot(name) -%}
{%- for slot in er_slots() if slot[0] == name and slot[1] == 0 -%}
    {{- return(slot[4]) -}}
{%- endfor -%}
{%- endmacro %}

{#- The training sessions that select on (fix) the comparison `name`. -#}
{% macro er_fixed_in(name) -%}
{%- set out = [] -%}
{%- for session in er_training_sessions() if name in session.fixed -%}
    {%- do out.append(session.name) -%}
{%- endfor -%}
{{- return(out) -}}
{%- endmacro %}

{#- EM's M step for one parameter slot of int_er_parameters, as the last branches of a
    `case` (macro er_m_step_vector's, flat rather than a case within a case): the expected
    matching pairs at the level over those where the comparison applies (floored at 1e-6);
    the previous value when it never applies in the session. -#}
{% macro er_m_step_branches(comparison, level, index) -%}
when sum(weighted.n_pairs * weighted.p) filter (where weighted.level_{{ comparison }} >= 0) > 0
    then greatest(
        coalesce(sum(weighted.n_pairs * weighted.p) filter (
            where weighted.level_{{ comparison }} = {{ level }}
        ), 0)
        / sum(weighted.n_pairs * weighted.p) filter (where weighted.level_{{ comparison }} >= 0),
        1e-6
    )
else em.m[{{ index }}]
{%- endmacro %}

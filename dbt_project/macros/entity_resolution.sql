{#- Entity resolution settings and SQL building blocks (models/intermediate/entities).

    Scoring: each candidate pair gets the sum of log-likelihood-style weights of the
    comparisons below (agreement adds, a conflict subtracts; a missing value adds 0), in
    the spirit of Fellegi-Sunter with hand-set weights:

      licence (NIB) same +14 / different -10      national ID (NIK) same +14 / different -10
      phone same +10 / different -1               email same +10
      owner name same +7 / different -1 (0 when the email is the same: not independent)
      business name: equal +6, trigram similarity >= 0.8 +4, >= 0.6 +2, >= 0.4 0, else -6
      region same +2 / different -5              commodity same +1 / different -2

    A pair is a link at score >= er_accept_score (12): e.g. phone + similar name + regency,
    licence + name, name + owner + regency; a shared phone with an unrelated name is not.
    Region = match_region: the regency, with a kabupaten and a kota of the same name in
    one province counted as one (sellers write "Bandung" for either).
    Thresholds live here, in one place. -#}

{% macro er_setting(name) -%}
{%- set defaults = {
    'er_accept_score': 12,
    'er_strong_score': 18,
    'er_max_block_size': 30,
    'er_window': 2,
    'er_max_cluster_size': 20,
    'er_work_mem': '256MB',
} -%}
{{- var(name, defaults[name]) -}}
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

{#- A keyed hash (64 hex digits) as a 64-bit matching key: its first 16 hex digits. Two
    different values share a key with odds of about 2e-6 among 9 million records (birthday
    bound), and a shared key only adds evidence to a pair the other fields still judge. -#}
{% macro er_match_key(hex_hash) -%}
('x' || left({{ hex_hash }}, 16))::bit(64)::bigint
{%- endmacro %}

{#- The score of a pair is er_score_without_name(a, b) + er_name_score(same_name, sim), where
    `a` and `b` are the two records (aliases), `same_name` says their normalised names are
    equal and `sim` is the names' similarity. -#}

{#- The name's weight, from +6 (equal) down to -6 (dissimilar). -#}
{% macro er_name_score(same_name, sim) -%}
case
    when {{ same_name }} then {{ er_name_weight_max() }}
    when {{ sim }} >= 0.8 then 4
    when {{ sim }} >= 0.6 then 2
    when {{ sim }} >= 0.4 then 0
    else -6
end
{%- endmacro %}

{% macro er_name_weight_max() -%}6{%- endmacro %}

{#- Every weight but the name's: a pair whose score without the name plus the name's
    largest weight stays below er_accept_score cannot link, so int_entity_links skips its
    (costly) name similarity. -#}
{% macro er_score_without_name(a, b) -%}
(
    case
        when {{ a }}.licence = {{ b }}.licence then 14
        when {{ a }}.licence <> {{ b }}.licence then -10
        else 0
    end
    + case
        when {{ a }}.nik_hash = {{ b }}.nik_hash then 14
        when {{ a }}.nik_hash <> {{ b }}.nik_hash then -10
        else 0
    end
    + case
        when {{ a }}.phone_hash = {{ b }}.phone_hash then 10
        when {{ a }}.phone_hash <> {{ b }}.phone_hash then -1
        else 0
    end
    + case when {{ a }}.email_hash = {{ b }}.email_hash then 10 else 0 end
    + case
        -- the e-mail is not independent evidence of the owner: addresses are made from the
        -- owner's name (budi.santoso17@...), so a shared address already says "same owner
        -- name"; counted twice, two businesses of namesakes linked on e-mail + owner alone
        when {{ a }}.email_hash = {{ b }}.email_hash then 0
        when {{ a }}.owner_hash = {{ b }}.owner_hash then 7
        when {{ a }}.owner_hash <> {{ b }}.owner_hash then -1
        else 0
    end
    + case
        when {{ a }}.match_region = {{ b }}.match_region then 2
        when {{ a }}.match_region <> {{ b }}.match_region then -5
        else 0
    end
    + case
        when {{ a }}.commodity = {{ b }}.commodity then 1
        when {{ a }}.commodity <> {{ b }}.commodity then -2
        else 0
    end
)
{%- endmacro %}

{#- The strongest evidence of an accepted pair, as its match rule. -#}
{% macro er_match_rule(a, b) -%}
case
    when {{ a }}.licence = {{ b }}.licence then 'licence'
    when {{ a }}.nik_hash = {{ b }}.nik_hash then 'national_id'
    when {{ a }}.phone_hash = {{ b }}.phone_hash then 'phone'
    when {{ a }}.email_hash = {{ b }}.email_hash then 'email'
    when {{ a }}.owner_hash = {{ b }}.owner_hash then 'owner_name'
    else 'name_regency'
end
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

{#- SQL pieces of the Fellegi-Sunter estimation and scoring (int_er_parameters,
    int_entity_pairs_scored), generated from the comparisons (macro er_comparisons) so the
    models read as steps. The m and u of every comparison level sit in one array, in the
    order of er_slots (comparison by comparison, levels from 0 up): the level L of
    comparison c is element er_first_slot(c) + L. -#}

{#- `level_<name>, ...` of every comparison, one a line (indent them where they are called). -#}
{% macro er_level_names(prefix='') -%}
{%- for comparison in er_comparisons() -%}
    {{ prefix }}level_{{ comparison.name }}{{ ",\n" if not loop.last }}
{%- endfor -%}
{%- endmacro %}

{#- One row per parameter slot: (comparison, level_number, label, is_tf, slot_index). -#}
{% macro er_slot_rows() -%}
select
    slot.comparison,
    slot.level_number,
    slot.label,
    slot.is_tf,
    slot.slot_index
from (
    values
    {%- for comparison, level, label, tf, index in er_slots() %}
        {%- set quoted_label = label | replace("'", "''") %}
        {%- set is_tf = 'true' if tf else 'false' %}
        ('{{ comparison }}', {{ level }}, '{{ quoted_label }}', {{ is_tf }}, {{ index }})
        {{- "," if not loop.last }}
    {%- endfor %}
) as slot (comparison, level_number, label, is_tf, slot_index)
{%- endmacro %}

{#- How many pairs of `relation` are at each level of each comparison where it applies:
    (comparison, level_number, n_pairs). -#}
{% macro er_level_counts(relation) -%}
{%- for comparison in er_comparisons() %}
select
    '{{ comparison.name }}'::text as comparison,
    level_{{ comparison.name }} as level_number,
    count(*)::float8 as n_pairs
from {{ relation }}
where level_{{ comparison.name }} >= 0
group by level_{{ comparison.name }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endmacro %}

{#- The pairs of `relation` grouped by their levels, per training session (the pairs that
    agree exactly on what the session fixes): (session_name, level_..., n_pairs). -#}
{% macro er_training_patterns(relation) -%}
{%- for session in er_training_sessions() %}
select
    '{{ session.name }}'::text as session_name,
    {{ er_level_names() | indent(4) }},
    count(*)::float8 as n_pairs
from {{ relation }}
where
    {%- for fixed in session.fixed %}
    level_{{ fixed }} = {{ er_top_level(fixed) }}{{ " and" if not loop.last }}
    {%- endfor %}
group by
    {{ er_level_names() | indent(4) }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endmacro %}

{#- EM's starting m: each comparison's levels weighted 1, 2, 4, ... from the least alike up. -#}
{% macro er_initial_m() -%}
array[
{%- for comparison in er_comparisons() -%}
    {%- set n = er_level_list(comparison) | length -%}
    {%- for level in range(n) -%}
        {{ (2 ** level) / (2 ** n - 1) }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {{- ", " if not loop.last -}}
{%- endfor -%}
]::float8[]
{%- endmacro %}

{#- Whether the training session in `session` (an SQL expression) fixes the comparison. -#}
{% macro er_fixed_by(name, session) -%}
{%- set fixed_in = er_fixed_in(name) -%}
{%- if fixed_in -%}
{{ session }} in ('{{ fixed_in | join("', '") }}')
{%- else -%}
false
{%- endif -%}
{%- endmacro %}

{#- The weights of a pair's comparisons added up: `terms` maps each comparison's name to
    the SQL of its weight (evidence for a match is positive, 0 where it does not apply);
    with `inverse`, the terms are negated weights (ln(u / m)) and so is the result.
    Comparisons of one `group` (macro er_comparisons: the owner's name, e-mail and national
    ID) add their disagreements, but of their agreements only the strongest: the second
    and third agreement on the owner say again that the owner is the same, not that the
    business is (at scale 1.0, 206 of 653 false links joined two shops of different names
    whose owner's name and e-mail agreed; docs/ENTITY_RESOLUTION.md). -#}
{% macro er_sum_weights(terms, inverse=false) -%}
{%- set groups = {} -%}
{%- set singles = [] -%}
{%- for comparison in er_comparisons() -%}
    {%- if comparison.get('group') -%}
        {%- do groups.setdefault(comparison.group, []).append(terms[comparison.name]) -%}
    {%- else -%}
        {%- do singles.append(terms[comparison.name]) -%}
    {%- endif -%}
{%- endfor -%}
{#- weights: sum of least(w, 0) + greatest(0, w...); negated: greatest(y, 0) + least(0, y...) -#}
{%- set each, best = ('greatest', 'least') if inverse else ('least', 'greatest') -%}
(
{%- for term in singles %}
    {{ term }} +
{%- endfor %}
{%- for name, members in groups | dictsort %}
    {%- for term in members %}
    {{ each }}({{ term }}, 0) +
    {%- endfor %}
    {{ best }}(0, {{ members | join(', ') }}){{ " +" if not loop.last }}
{%- endfor %}
)
{%- endmacro %}

{#- ln(u / m) over the comparisons that apply to the pattern row `row` (levels
    `row.level_<name>`), with the arrays `m` and `u`, added up by er_sum_weights; with
    `session`, the comparisons that session fixes are left out. The log of the inverse
    Bayes factor. -#}
{% macro er_log_inverse_bayes_factor(row, m, u, session=none) -%}
{%- set terms = {} -%}
{%- for comparison in er_comparisons() -%}
    {%- set first = er_first_slot(comparison.name) -%}
    {%- set term -%}
    case
        when {{ row }}.level_{{ comparison.name }} < 0 then 0
        {%- if session is not none %}
        when {{ er_fixed_by(comparison.name, session) }} then 0
        {%- endif %}
        else
            ln({{ u }}[{{ first }} + {{ row }}.level_{{ comparison.name }}])
            - ln({{ m }}[{{ first }} + {{ row }}.level_{{ comparison.name }}])
    end
    {%- endset -%}
    {%- do terms.update({comparison.name: term}) -%}
{%- endfor -%}
{{ er_sum_weights(terms, inverse=true) }}
{%- endmacro %}

{#- EM's M step for every slot, as an array: the expected matching pairs at the level over
    those where the comparison applies (floored at 1e-6), for the comparisons the session
    does not fix; the previous value otherwise, or where the comparison never applies. The
    rows are `weighted` (levels, n_pairs, p); the previous state is `em`. -#}
{% macro er_m_step_vector() -%}
array[
{%- for comparison, level, label, tf, index in er_slots() %}
    case
        when {{ er_fixed_by(comparison, 'em.session_name') }} then em.m[{{ index }}]
        {{ er_m_step_branches(comparison, level, index) | indent(8) }}
    end
    {{- "," if not loop.last }}
{%- endfor %}
]::float8[]
{%- endmacro %}

{#- Whether the slot (comparison column `comparison`) is estimated in the session in
    `session` (both SQL expressions): not when the session fixes the comparison. -#}
{% macro er_estimated_in(comparison, session) -%}
not (
{%- for session_def in er_training_sessions() %}
    ({{ session }} = '{{ session_def.name }}'
        and {{ comparison }} in ('{{ session_def.fixed | join("', '") }}'))
    {{- " or" if not loop.last }}
{%- endfor %}
)
{%- endmacro %}

{#- A candidate pair's match weight: the prior's plus each applying comparison's weight,
    where the exact level of a term-frequency comparison with a known frequency weighs
    log2(m / frequency). The row is `compared`, the arrays `model.m` and `model.weights`,
    the frequencies `tf_<name>.term_frequency` (joined by er_term_frequency_joins). -#}
{% macro er_match_weight() -%}
{%- set terms = {} -%}
{%- for comparison in er_comparisons() -%}
    {%- set first = er_first_slot(comparison.name) | int -%}
    {%- set tf_levels = er_level_list(comparison) | selectattr(2) | map(attribute=0) | list -%}
    {%- set term -%}
    case
        when compared.level_{{ comparison.name }} < 0 then 0
        {%- if tf_levels %}
        when compared.level_{{ comparison.name }} = {{ tf_levels[0] }}
            and tf_{{ comparison.name }}.term_frequency is not null
            then ln(model.m[{{ first + tf_levels[0] }}] / tf_{{ comparison.name }}.term_frequency)
                / ln(2.0)
        {%- endif %}
        else model.weights[{{ first }} + compared.level_{{ comparison.name }}]
    end
    {%- endset -%}
    {%- do terms.update({comparison.name: term}) -%}
{%- endfor -%}
model.prior_weight + {{ er_sum_weights(terms) }}
{%- endmacro %}

{#- Left joins of each term-frequency comparison's frequency (alias tf_<name>) from
    `frequencies` to `compared` on the agreeing value's key. -#}
{% macro er_term_frequency_joins(frequencies) -%}
{%- for comparison in er_comparisons() if er_level_list(comparison) | selectattr(2) | list %}
left join {{ frequencies }} as tf_{{ comparison.name }}
    on tf_{{ comparison.name }}.comparison = '{{ comparison.name }}'
        and compared.{{ comparison.name }}_value_key = tf_{{ comparison.name }}.value_key
{%- endfor %}
{%- endmacro %}

{#- One row per training session: (session_name). -#}
{% macro er_session_rows() -%}
select training_session.session_name
from (
    values
    {%- for session in er_training_sessions() %}
        ('{{ session.name }}'){{ "," if not loop.last }}
    {%- endfor %}
) as training_session (session_name)
{%- endmacro %}

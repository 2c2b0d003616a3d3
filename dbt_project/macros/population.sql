{#- Capture-recapture estimates from the list counts of a row `rel` (columns of macro
    population_list_counts), as float8 expressions. Formulas: models/marts/population/
    _population__docs.md. -#}

{#- Chapman's form of Lincoln-Petersen over marketplaces and registry. -#}
{% macro chapman(rel) -%}
(({{ rel }}.n_marketplaces + 1) * ({{ rel }}.n_registry + 1) / ({{ rel }}.n_both + 1) - 1)::float8
{%- endmacro %}

{#- Haldane's correction: 0.5 added to every observed cell of the three lists when one is
    empty. -#}
{% macro haldane(rel) -%}
(case
    when least(
        {{ rel }}.n100, {{ rel }}.n010, {{ rel }}.n001, {{ rel }}.n110, {{ rel }}.n101,
        {{ rel }}.n011, {{ rel }}.n111
    ) = 0 then 0.5
    else 0
end)
{%- endmacro %}

{#- The unseen cell of the log-linear model with all two-way interactions:
    n000 = n111 n100 n010 n001 / (n110 n101 n011), cells corrected by haldane(). -#}
{% macro pairwise_unseen(rel) -%}
(
    ({{ rel }}.n111 + {{ haldane(rel) }}) * ({{ rel }}.n100 + {{ haldane(rel) }})
    * ({{ rel }}.n010 + {{ haldane(rel) }}) * ({{ rel }}.n001 + {{ haldane(rel) }})
    / (
        ({{ rel }}.n110 + {{ haldane(rel) }}) * ({{ rel }}.n101 + {{ haldane(rel) }})
        * ({{ rel }}.n011 + {{ haldane(rel) }})
    )
)::float8
{%- endmacro %}

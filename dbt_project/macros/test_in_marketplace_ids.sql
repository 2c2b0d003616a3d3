{#- Generic test: every non-null value of the column is a marketplace's source id (macro
    marketplace_ids, from the source registry) or one of `also`. YAML cannot call a macro in
    a test's arguments, hence a test of its own instead of accepted_values. -#}
{% test in_marketplace_ids(model, column_name, also=[]) %}
{%- set accepted = marketplace_ids() + also -%}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in ('{{ accepted | join("', '") }}')
{% endtest %}

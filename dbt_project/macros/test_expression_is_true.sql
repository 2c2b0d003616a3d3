{#- Generic test: every row of the model satisfies `expression` (a row where it is false
    fails; null counts as true, as in SQL's check constraints). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}

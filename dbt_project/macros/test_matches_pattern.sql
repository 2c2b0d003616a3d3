{#- Generic test: every non-null value of the column matches the POSIX regular expression
    `pattern` (no package download). -#}
{% test matches_pattern(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} !~ '{{ pattern }}'
{% endtest %}

{#- Generic test: none of `columns` is null, in one scan of the model. For the large
    tables (staging, entity resolution, the entity marts), where a not_null test per column
    read every row once each (4 to 8 s a column of 9M rows at scale 1.0, on the serial path
    of entity resolution or beside it). A failure lists the rows, so the null column shows. -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where
    {% for column in columns -%}
        {{ column }} is null{% if not loop.last %} or {% endif %}
    {% endfor %}
{% endtest %}

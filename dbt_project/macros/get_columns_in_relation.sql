{#- dbt-postgres reads a column's type from information_schema.columns.data_type, which says
    only `ARRAY` for an array column; unit tests then cast their fixtures `as ARRAY`, a
    syntax error (dbt-labs/dbt-adapters#675). The element type comes from udt_name
    (`_int8` -> `int8[]`), so fixtures of the entity-resolution models, whose matching keys
    are arrays, cast to the real type. Otherwise dbt-postgres's own macro. -#}
{% macro postgres__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select
          column_name,
          case
              when data_type = 'ARRAY' then substring(udt_name from 2) || '[]'
              else data_type
          end as data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale

      from {{ relation.information_schema('columns') }}
      where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
        and table_schema = '{{ relation.schema }}'
        {% endif %}
      order by ordinal_position

  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{% endmacro %}

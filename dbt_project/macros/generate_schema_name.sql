{#- Models land in exactly the schema their folder names (staging, intermediate, marts),
    not dbt's default `<target_schema>_<custom>`: the warehouse's schemas are fixed. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

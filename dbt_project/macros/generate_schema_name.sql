{#- Models land in exactly the schema their folder names (staging, intermediate, marts),
    not dbt's default `<target_schema>_<custom>`: the warehouse's schemas are fixed.

    The one exception is the var `marts_schema`: the pipeline's build sets it to
    `marts_build`, so the marts (and the seeds beside them) are built out of the analysts'
    sight and moved into `marts` in one transaction once every model and test has passed
    (umkm.transform.marts, docs/ARCHITECTURE.md "Atomic marts"). Unset, as in `dbt build` by
    hand, dbt docs and the tests, the marts are `marts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}{{ var('marts_schema', 'marts') }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

{#- Empty the work tables once a build has succeeded (on-run-end of dbt_project.yml).

    A work table is an intermediate model whose config has `meta: {work_table: true}`
    (dbt_project.yml lists them): the pairs entity resolution compares, scores and draws.
    Every build rewrites them whole and only the models of the same build read them, yet
    they are the warehouse's largest tables. The pipeline's build sets the var
    `empty_work_tables` (umkm.transform.marts.BUILD_VARIABLES) and they are truncated
    after the last model and test has passed; the tables stay (empty), so the next build
    and the docs find them. Nothing is emptied when any node failed, errored or was
    skipped (the tables are kept to look into), when the var is unset (a plain `dbt
    build`), or when UMKM_KEEP_WORK_TABLES=1 (to study the pairs after a pipeline build).

    A selective build (`dbt build --select model`) after an emptied build reads empty work
    tables: select them too (`--select +model`). -#}
{% macro empty_work_tables(results) %}
    {%- if not execute or not var('empty_work_tables', false)
          or env_var('UMKM_KEEP_WORK_TABLES', '') == '1' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set unfinished = [] -%}
    {%- set built = [] -%}
    {%- for result in results -%}
        {%- do built.append(result.node.unique_id) -%}
        {%- if result.status in ['error', 'fail', 'skipped', 'runtime error'] -%}
            {%- do unfinished.append(result.node.name ~ ': ' ~ result.status) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if unfinished -%}
        {{ log('work tables kept: ' ~ unfinished | length ~ ' nodes did not succeed (' ~ unfinished[:3] | join(', ') ~ ')', info=true) }}
        {{ return('') }}
    {%- endif -%}
    {%- set tables = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.config.meta.get('work_table')
              and node.unique_id in built -%}
            {%- do tables.append(adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if tables -%}
        {{ log('work tables emptied: ' ~ tables | join(', '), info=true) }}
        {{ return('truncate table ' ~ tables | sort | join(', ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- Staging by version (issue 23, item 2 carried into staging): a government list stages
    each distinct content of a record once, not once per snapshot it was delivered in. Raw
    keeps a record as its version (`raw.<id>__versions`, the content without its activity
    fields, keyed by the md5 `version_id`) and its deliveries (`raw.<id>__deliveries`, one
    row per record and snapshot naming the version). The staged versions table
    (`stg_<id>__..._versions`) holds one staged row per version a delivery names, keyed by
    `version_id`; the list's staged model is a view joining every delivery to its staged
    version, with the rows and columns the table had. A registry record unchanged since last
    month adds a delivery row to raw and nothing to staging.

    A version's content never changes (its id is the md5 of its text), so a build stages
    only the versions a delivery names that are not staged yet; nothing is restaged when a
    snapshot is re-delivered, corrected or removed: the view follows the deliveries. A
    version no delivery names any more (a corrected record) stays staged, as it stays in
    raw; nothing reads it. The first build, and a build after a change of the project, the
    warehouse functions, the pseudonymisation key or the BPS reference, stages every version:
    the pipeline's build drops the staging tables (umkm.transform.staging). -#}
{% macro staging_by_version_config(not_null, pre_hook=[], post_hook=[]) -%}
{{- return({
    'materialized': 'incremental',
    'incremental_strategy': 'append',
    'on_schema_change': 'fail',
    'pre_hook': pre_hook,
    'post_hook': ["{{ enforce_keys(['version_id'], " ~ not_null ~ ") }}"] + post_hook,
}) -}}
{%- endmacro %}

{#- A condition on `rel`.version_id: the versions of `source_id` a delivery names that are
    not staged yet (every version a delivery names when the model is built whole; every
    given version in dbt's unit tests, which compile it without `this`). Finding them reads every delivery's
    version id, as staging by snapshot read every delivery's snapshot and loaded_at. -#}
{% macro versions_to_stage(source_id, rel) -%}
{%- if this is none -%}
true
{%- else -%}
exists (
    select from {{ source(source_id, source_id ~ '__deliveries') }} as deliveries
    where deliveries.version_id = {{ rel }}.version_id
)
{%- if is_incremental() %}
and not exists (
    select from {{ this }} as staged
    where staged.version_id = {{ rel }}.version_id
)
{%- endif -%}
{%- endif -%}
{%- endmacro %}

{#- A list's staged model: every delivery of `source_id` with its staged version
    (`versions_model`), the `columns` of the version (macro stage_list_versions) between the
    delivery's snapshot, source_id and record_id. A view: it stores nothing. -#}
{% macro staged_deliveries(source_id, versions_model, columns) -%}
{{ config(materialized='view') }}
select
    deliveries.snapshot,
    '{{ source_id }}'::text as source_id,
    deliveries.record_id,
    {{ 'versions.' ~ columns | join(',\n    versions.') }}
from {{ source(source_id, source_id ~ '__deliveries') }} as deliveries
inner join {{ ref(versions_model) }} as versions
    on deliveries.version_id = versions.version_id
{%- endmacro %}

{#- Staging by snapshot (issue 23, item 1): the staging models of the marketplaces are
    incremental, one snapshot at a time (the government lists are staged by version: macro
    staging_by_version_config). A build stages again only the
    snapshots whose published rows changed since they were staged: a snapshot is restaged
    when raw holds it and staging does not, or their row counts or their latest `loaded_at`
    differ (each staged row keeps its raw row's `loaded_at` as `raw_loaded_at`). Publish
    replaces a snapshot with new `loaded_at`s (or upserts changed rows, which carry new
    ones), validation of published rows removes rows and a replay adds them, so each changes
    one of the two. dbt's delete+insert on `snapshot` swaps a restaged snapshot whole; a
    snapshot no longer in raw is deleted by the pre-hook. The first build, and every build
    after a change of the project, the warehouse functions or the pseudonymisation key,
    stages everything: the pipeline's build drops the staging tables when those inputs
    changed (umkm.transform.staging, under the build lock). A `dbt build` run by hand after
    such a change needs `--full-refresh`. Each is keyed by (snapshot, record_id), a primary
    key the warehouse enforces as a snapshot's rows go in, with its not-null columns
    (`not_null`; macro enforce_keys), instead of tests over every snapshot held. -#}
{% macro staging_by_snapshot_config(source_id, not_null, pre_hook=[], post_hook=[]) -%}
{{- return({
    'materialized': 'incremental',
    'incremental_strategy': 'delete+insert',
    'unique_key': 'snapshot',
    'on_schema_change': 'fail',
    'pre_hook': ["{{ forget_vanished_snapshots('" ~ source_id ~ "') }}"] + pre_hook,
    'post_hook': [
        "{{ enforce_keys(['snapshot', 'record_id'], " ~ not_null ~ ") }}",
    ] + post_hook,
}) -}}
{%- endmacro %}

{#- A condition on `rel`.snapshot: true for the snapshots to stage in this run (every one
    when the model is built whole, and in dbt's unit tests, which compile it without `this`). -#}
{% macro snapshots_to_stage(source_id, rel) -%}
{%- if this is not none and is_incremental() -%}
{{ rel }}.snapshot in (
    select delivered.snapshot
    from (
        select
            raw_rows.snapshot,
            count(*) as row_count,
            max(raw_rows.loaded_at) as loaded_at
        from {{ source(source_id, source_id) }} as raw_rows
        group by raw_rows.snapshot
    ) as delivered
    left join (
        select
            staged_rows.snapshot,
            count(*) as row_count,
            max(staged_rows.raw_loaded_at) as loaded_at
        from {{ this }} as staged_rows
        group by staged_rows.snapshot
    ) as staged
        on delivered.snapshot = staged.snapshot
    where
        staged.snapshot is null
        or delivered.row_count <> staged.row_count
        or delivered.loaded_at is distinct from staged.loaded_at
)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}

{#- Pre-hook: the snapshots raw no longer holds leave staging too. -#}
{% macro forget_vanished_snapshots(source_id) -%}
{%- if is_incremental() -%}
delete from {{ this }} as staged_rows
where not exists (
    select from {{ source(source_id, source_id) }} as raw_rows
    where raw_rows.snapshot = staged_rows.snapshot
)
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}

{#- One row per staged record of every marketplace, the registry and the e-Smart list, in
    one shape (macro staged_records). The contract between staging and the marts; entity
    resolution reads the same union (int_entity_records).

    A view, not a table: it is a projection of the staging tables, each keyed by (snapshot,
    record_id) in PostgreSQL with its not-null columns (macro enforce_keys), and stored it
    was a second copy of staging (3,391 MiB at scale 1.0, docs/PERFORMANCE.md). The marts
    that read it scan staging through it; `umkm eval` reads it after the build. -#}

{{ config(materialized='view') }}

{{ staged_records() }}

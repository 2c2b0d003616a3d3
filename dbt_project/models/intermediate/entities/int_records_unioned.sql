{#- One row per staged record of every marketplace, the registry and the e-Smart list, in
    one shape (macro staged_records). The contract between staging and the marts; entity
    resolution reads the same union (int_entity_records). -#}

{{ config(post_hook=[
    "create index on {{ this }} (source_id, record_id)",
]) }}

{{ staged_records() }}

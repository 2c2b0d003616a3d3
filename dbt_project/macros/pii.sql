{#- Personal data -> keyed 64-bit key: the first 8 bytes of its HMAC-SHA256 with the key in
    setting `umkm.pii_key` (which `umkm.transform.dbt` passes through PGOPTIONS: the key
    never appears in compiled SQL), as a bigint (public.umkm_hmac_key).
    `pii_key_cte()` computes the padded keys (and the 64-bit seed of the matching keys, macro
    owner_keys) once per query; `pii_hash(expr)` uses them and
    needs the CTE `pii_key` in the FROM clause (cross join). A null value stays null (the
    expressions given return null for blanks). -#}
{% macro pii_key_cte() -%}
-- materialized: the seed is computed once, not in every row that reads it (a stable
-- function in the select list of an inlined CTE is evaluated where it is used)
pii_key as materialized (
    select
        pads.ipad,
        pads.opad,
        public.umkm_pii_seed() as seed
    from public.umkm_pii_pads() as pads
)
{%- endmacro %}

{% macro pii_hash(expr, kind) -%}
public.umkm_hmac_key('{{ kind }}:' || {{ expr }}, pii_key.ipad, pii_key.opad)
{%- endmacro %}

{#- Personal data -> keyed hash (HMAC-SHA256 with the key in setting `umkm.pii_key`, which
    `umkm.transform.dbt` passes through PGOPTIONS: the key never appears in compiled SQL).
    `pii_key_cte()` computes the padded keys once per query; `pii_hash(expr)` uses them and
    needs the CTE `pii_key` in the FROM clause (cross join). A null value stays null (the
    expressions given return null for blanks). -#}
{% macro pii_key_cte() -%}
pii_key as (
    select
        pads.ipad,
        pads.opad
    from public.umkm_pii_pads() as pads
)
{%- endmacro %}

{% macro pii_hash(expr, kind) -%}
public.umkm_hmac_padded('{{ kind }}:' || {{ expr }}, pii_key.ipad, pii_key.opad)
{%- endmacro %}

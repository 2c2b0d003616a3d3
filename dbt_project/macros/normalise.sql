{#- Repeated staging expressions, one macro each. -#}

{#- A date from a source field, per the registry's `formats`: iso8601 timestamps and unix
    seconds become the WIB (UTC+7) calendar date; dd/mm/yyyy and yyyy-mm-dd are dates.
    Validation quarantined unparseable dates, so plain casts (parallel safe) are used for
    ISO timestamps. -#}
{% macro parse_source_date(expr, fmt) -%}
{%- if fmt == 'iso8601' -%}
(
    case
        when btrim({{ expr }}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then btrim({{ expr }})::timestamptz
    end at time zone interval '+07:00'
)::date
{%- elif fmt == 'unix_seconds' -%}
(to_timestamp(nullif(btrim({{ expr }}), '')::double precision) at time zone interval '+07:00')::date
{%- elif fmt == 'dd/mm/yyyy' -%}
public.umkm_try_date({{ expr }}, 'DD/MM/YYYY')
{%- elif fmt == 'yyyy-mm-dd' -%}
public.umkm_try_date({{ expr }}, 'YYYY-MM-DD')
{%- else -%}
{{ exceptions.raise_compiler_error("unknown date format " ~ fmt) }}
{%- endif -%}
{%- endmacro %}

{#- Dormant (docs/BRIDGE.md): last seller activity var dormant_after_days (90) days or more
    before the snapshot. -#}
{% macro is_dormant(last_active, snapshot) -%}
({{ snapshot }} - {{ last_active }} >= {{ var('dormant_after_days') }})
{%- endmacro %}

{#- Phone in E.164 for hashing: the same number written 08.., +62.., (021).. hashes alike. -#}
{% macro phone_for_hash(expr) -%}
public.umkm_phone_e164({{ expr }})
{%- endmacro %}

{#- Email for hashing: trimmed, lower case. -#}
{% macro email_for_hash(expr) -%}
nullif(lower(btrim({{ expr }})), '')
{%- endmacro %}

{#- Licence number (NIB): digits only. -#}
{% macro nik_for_hash(expr) -%}
nullif(regexp_replace(coalesce({{ expr }}, ''), '[^0-9]', '', 'g'), '')
{%- endmacro %}

{% macro licence_clean(expr) -%}
nullif(regexp_replace(coalesce({{ expr }}, ''), '[^0-9A-Za-z]', '', 'g'), '')
{%- endmacro %}

{#- The 0.975 quantile of the standard normal distribution (two-sided 95% intervals). -#}
{% macro z_95() -%}
1.959964
{%- endmacro %}

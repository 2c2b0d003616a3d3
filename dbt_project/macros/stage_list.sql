{#- The one staged shape of a list of businesses a government keeps: the registry the bridge
    reconciles (kind registry, Kemenkop UKM's) and any other government list (kind
    government_list, counted as a list of its own in the population estimate). What differs
    between them comes from the source registry (plugins/umkm/sources/registry.yaml) through
    the generated macro registry_lists() (macros/generated/, `umkm sources generate`):
    `fields` maps canonical field names to the list's own (dotted for nested JSON); the
    region is a BPS regency code (`regency_code`) or a free-text city and province resolved
    to one; `formats` gives the registration date's format; `scales` maps the list's scale
    words (lower case) to micro / small / medium; `active_statuses` are the status words
    (lower case) that mean an active record; a list without `status` counts every record it
    delivers as active. Fields a list does not have stage as null. Personal data (owner,
    national ID, phone, e-mail, street address) leaves as keyed hashes and matching keys
    only. Staged by version (macro staging_by_version_config): `stage_list_versions` stages
    each distinct content of a record once, `stage_list` is the view of every delivery with
    its staged version. -#}
{#- A list's field as text (`rel`.record's path for the canonical field), or null::text when
    the list does not have it. -#}
{% macro list_field(fields, canonical, rel='source') -%}
{%- if canonical in fields -%}
{{ json_text(fields[canonical], rel) }}
{%- else -%}
null::text
{%- endif -%}
{%- endmacro %}

{#- The list `source_id` of the source registry (its registry_lists() entry). -#}
{% macro registry_list(source_id) -%}
{%- set found = registry_lists() | selectattr('source_id', 'equalto', source_id) | list -%}
{%- if not found -%}
{{ exceptions.raise_compiler_error(
    "stage_list: " ~ source_id ~ " is no registry or government list of the source "
    ~ "registry (run `umkm sources generate`)"
) }}
{%- endif -%}
{{- return(found[0]) -}}
{%- endmacro %}

{#- The columns of a list's staged version, in order (macro stage_list_versions), and so of
    its staged model after snapshot, source_id and record_id (macro stage_list). -#}
{% macro list_version_columns() -%}
{{- return([
    'shop_name', 'name_norm', 'legal_form', 'phone_hash', 'email_hash', 'owner_hash',
    'owner_words', 'owner_initials', 'street_key', 'address_key', 'nik_hash', 'licence',
    'regency_code', 'province_code', 'business_scale', 'registered_on', 'status',
    'is_active', 'platforms_declared',
]) -}}
{%- endmacro %}

{#- A list's staged model: a view of every delivery with its staged version (staging by
    version, macro staged_deliveries). -#}
{% macro stage_list(source_id) -%}
{%- set found = registry_list(source_id) -%}
{{ staged_deliveries(source_id, found.versions_model, list_version_columns()) }}
{%- endmacro %}

{#- A list's staged versions: one row per distinct content of a record (staging by version,
    macros staging_by_version_config and versions_to_stage). -#}
{% macro stage_list_versions(source_id) -%}
{%- set found = registry_list(source_id) -%}
{%- set fields = found.fields -%}
{%- set formats = found.formats -%}
{%- set by_code = 'regency_code' in fields -%}
{%- set remember = [] -%}
{%- if not by_code -%}
{%- do remember.append(
    "{{ remember_regencies('" ~ source_id ~ "', '" ~ fields.city ~ "', '"
    ~ fields.get('province', '') ~ "', by_version=true) }}"
) -%}
{%- endif %}
{{ config(**staging_by_version_config(not_null=['version_id', 'is_active'], pre_hook=remember)) }}
with

source as (
    {{ raw_records_parsed(
        source_id,
        list_field(fields, 'shop_name', 'raw_records'),
        list_field(fields, 'owner_name', 'raw_records'),
        list_field(fields, 'street', 'raw_records'),
        where=versions_to_stage(source_id, 'raw_records'),
        by_version=true,
    ) | indent(4) }}
),

{{ pii_key_cte() }},

{% if 'platforms' in fields -%}
-- the platform list parsed once per distinct text (a few hundred texts for millions of
-- records; per record it was a seventh of the model). Materialized: inlined, the parse
-- moved up into the join's output and ran once per record again.
platform_lists as materialized (
    select
        texts.platform_online,
        array(
            select distinct lower(btrim(part.item))
            from regexp_split_to_table(texts.platform_online, '[,;/|]+') as part (item)
            where btrim(part.item) <> ''
            order by lower(btrim(part.item))
        ) as platforms_declared
    from (
        select distinct coalesce({{ list_field(fields, 'platforms', 'raw_records') }}, '') as platform_online
        from {{ source(source_id, source_id ~ '__versions') }} as raw_records
        where {{ versions_to_stage(source_id, 'raw_records') }}
    ) as texts
),

{% endif -%}
{% if not by_code -%}
{{ resolved_places('source', list_field(fields, 'city'), list_field(fields, 'province')) }},

{% endif -%}
final as (
    select
        source.version_id,
        {{ list_field(fields, 'shop_name') }} as shop_name,
        public.umkm_name_from_clean(source.name_clean) as name_norm,
        public.umkm_legal_form_from_clean(source.name_clean) as legal_form,
        {{ pii_hash(phone_for_hash(list_field(fields, 'phone')), 'phone') }} as phone_hash,
        {{ pii_hash(email_for_hash(list_field(fields, 'email')), 'email') }} as email_hash,
        {{ owner_keys('source.owner_tokens') }},
        {{ address_keys('source.address_parts') }},
        {{ pii_hash(nik_for_hash(list_field(fields, 'national_id')), 'nik') }}
            as nik_hash,
        {{ licence_clean(list_field(fields, 'licence')) }} as licence,
        {% if by_code -%}
        nullif(btrim({{ list_field(fields, 'regency_code') }}), '') as regency_code,
        left(nullif(btrim({{ list_field(fields, 'regency_code') }}), ''), 2) as province_code,
        {%- else -%}
        resolved.regency_code,
        left(resolved.regency_code, 2) as province_code,
        {%- endif %}
        {% if found.scales -%}
        case lower(btrim({{ list_field(fields, 'scale') }}))
            {%- for word, scale in found.scales.items() %}
            when '{{ word }}' then '{{ scale }}'
            {%- endfor %}
        end as business_scale,
        {%- else -%}
        null::text as business_scale,
        {%- endif %}
        {% if 'registered' in fields -%}
        {{ parse_source_date(list_field(fields, 'registered'), formats.registered) }}
        {%- else -%}
        null::date
        {%- endif %}
            as registered_on,
        {{ list_field(fields, 'status') }} as status,
        {% if 'status' in fields -%}
        coalesce(
            lower(btrim({{ list_field(fields, 'status') }}))
            in ({{ "'" ~ found.active_statuses | join("', '") ~ "'" }}),
            false
        ) as is_active,
        {%- else -%}
        true as is_active,
        {%- endif %}
        {% if 'platforms' in fields -%}
        platform_lists.platforms_declared
        {%- else -%}
        null::text[] as platforms_declared
        {%- endif %}
    from source
    cross join pii_key
    {% if 'platforms' in fields -%}
    inner join platform_lists
        on coalesce({{ list_field(fields, 'platforms') }}, '') = platform_lists.platform_online
    {% endif -%}
    {% if not by_code -%}
    left join resolved
        on
            coalesce({{ list_field(fields, 'city') }}, '') = resolved.city_key
            and coalesce({{ list_field(fields, 'province') }}, '') = resolved.province_key
    {% endif -%}
)

select * from final
{%- endmacro %}

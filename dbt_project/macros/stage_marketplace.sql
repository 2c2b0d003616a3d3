{#- The one staged shape of the marketplaces. What differs between them comes from the
    source registry (plugins/umkm/sources/registry.yaml) through the generated macro
    registry_marketplaces() (macros/generated/, `umkm sources generate`): `fields` maps the
    registry's canonical field names to the source's own (dotted for nested JSON); `formats`
    gives the date formats; `brand_tiers` / `closed_statuses` are the values that mean
    brand-owner store / closed (docs/BRIDGE.md). Personal data (owner, phone, e-mail, street
    address) leaves as keyed hashes and matching keys only (macros pii_hash, owner_keys,
    address_keys). -#}
{#- `rel`.record's text at `path`: dotted for nested JSON; a dot followed by a space is part
    of a name (kemenperin's `No. Telp`), as validation reads it. -#}
{% macro json_text(path, rel='source') -%}
{%- set marker = '@dot-space@' -%}
{%- set parts = path.replace('. ', marker).split('.') | map('replace', marker, '. ') | list -%}
{%- if parts | length == 1 -%}
{{ rel }}.record ->> '{{ parts[0] }}'
{%- else -%}
{{ rel }}.record{% for p in parts[:-1] %} -> '{{ p }}'{% endfor %} ->> '{{ parts[-1] }}'
{%- endif -%}
{%- endmacro %}

{% macro to_bigint(expr) -%}
case
    when btrim({{ expr }}) ~ '^[0-9]+(\.0*)?$' then btrim({{ expr }})::numeric::bigint
end
{%- endmacro %}

{#- The marketplace `source_id` of the source registry (its registry_marketplaces() entry). -#}
{% macro registry_marketplace(source_id) -%}
{%- set found = registry_marketplaces() | selectattr('source_id', 'equalto', source_id) | list -%}
{%- if not found -%}
{{ exceptions.raise_compiler_error(
    "stage_marketplace: " ~ source_id ~ " is no marketplace of the source registry "
    ~ "(run `umkm sources generate`)"
) }}
{%- endif -%}
{{- return(found[0]) -}}
{%- endmacro %}

{#- The columns of a marketplace's staged version (macro stage_marketplace_versions), in
    order, and its activity columns (macro stage_marketplace_activity): the staged model has
    snapshot, source_id, record_id, these and those. -#}
{% macro marketplace_version_columns() -%}
{{- return([
    'shop_name', 'name_norm', 'legal_form', 'phone_hash', 'email_hash', 'owner_hash',
    'owner_words', 'owner_initials', 'street_key', 'address_key', 'licence', 'regency_code',
    'province_code', 'tier', 'is_brand_store', 'status', 'is_closed', 'category_raw',
    'commodity', 'product_count', 'opened_on',
]) -}}
{%- endmacro %}

{% macro marketplace_activity_columns() -%}
{{- return(['last_active_on', 'is_dormant', 'updated_at']) -}}
{%- endmacro %}

{#- A marketplace's staged model: a view of its staged activity (a row per record and
    snapshot) with the staged version each names. It stores nothing. -#}
{% macro stage_marketplace(source_id) -%}
{%- set found = registry_marketplace(source_id) -%}
{{ config(materialized='view') }}
select
    activity.snapshot,
    '{{ source_id }}'::text as source_id,
    activity.record_id,
    {{ 'versions.' ~ marketplace_version_columns() | join(',\n    versions.') }},
    {{ 'activity.' ~ marketplace_activity_columns() | join(',\n    activity.') }}
from {{ ref(found.activity_model) }} as activity
inner join {{ ref(found.versions_model) }} as versions
    on activity.version_id = versions.version_id
{%- endmacro %}

{#- A marketplace's staged activity: per record and snapshot, its version and what its
    activity fields say (staging by snapshot, macro staging_by_snapshot_config). Read from
    the deliveries with their version, as raw's view joins them: a row written through
    the view (a replay) keeps its activity fields in its version. -#}
{% macro stage_marketplace_activity(source_id) -%}
{%- set fields = registry_marketplace(source_id).fields -%}
{%- set formats = registry_marketplace(source_id).formats -%}
{{ config(**staging_by_snapshot_config(
    source_id, not_null=['snapshot', 'record_id', 'version_id', 'is_dormant'],
)) }}
with

source as (
    select
        deliveries.snapshot,
        deliveries.record_id,
        deliveries.version_id,
        case
            when deliveries.volatile is null then versions.record
            else versions.record || deliveries.volatile
        end as record,
        deliveries.loaded_at
    from {{ source(source_id, source_id ~ '__deliveries') }} as deliveries
    inner join {{ source(source_id, source_id ~ '__versions') }} as versions
        on deliveries.version_id = versions.version_id
    where {{ snapshots_to_stage(source_id, 'deliveries') }}
),

final as (
    select
        source.snapshot,
        source.record_id,
        source.version_id,
        {{ parse_source_date(json_text(fields.last_active), formats.last_active) }}
            as last_active_on,
        coalesce({{ is_dormant(parse_source_date(json_text(fields.last_active), formats.last_active), 'source.snapshot') }}, false)
            as is_dormant,
        {% if fields.updated is defined -%}
        case
            when {{ json_text(fields.updated) }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
                then ({{ json_text(fields.updated) }})::timestamptz
        end
        {%- else -%}
        null::timestamptz
        {%- endif %} as updated_at,
        source.loaded_at as raw_loaded_at
    from source
)

select * from final
{%- endmacro %}

{#- A marketplace's staged versions: one row per distinct content of a record without its
    activity fields (staging by version, macro staging_by_version_config). -#}
{% macro stage_marketplace_versions(source_id) -%}
{%- set found = registry_marketplace(source_id) -%}
{%- set fields = found.fields -%}
{%- set formats = found.formats -%}
{%- set brand_tiers = found.brand_tiers -%}
{%- set closed_statuses = found.closed_statuses -%}
{#- enable_mergejoin off: the planner knows no statistics of the extracted rows, guessed the
    hash join with their distinct places costly and sorted every row for a merge join
    instead; the hash join takes 7% less CPU (all seven marketplaces at 0.1: 9.6 s -> 8.9 s). -#}
{%- set session = session_hooks({'enable_mergejoin': 'off'}) -%}
{{ config(**staging_by_version_config(
    not_null=['version_id', 'is_brand_store', 'is_closed'],
    pre_hook=[
        "{{ remember_regencies('" ~ source_id ~ "', '" ~ fields.city ~ "', '" ~ fields.province ~ "', by_version=true) }}",
    ] + session['pre_hook'],
    post_hook=session['post_hook'],
)) }}
with

source as (
    select
        raw_rows.version_id,
        raw_rows.record
    from {{ source(source_id, source_id ~ '__versions') }} as raw_rows
    where {{ versions_to_stage(source_id, 'raw_rows') }}
),

{{ pii_key_cte() }},

extracted as (
    select
        source.version_id,
        {{ json_text(fields.shop_name) }} as shop_name,
        parsed.name_clean,
        {{ json_text(fields.owner_name) }} as owner_name,
        parsed.owner_tokens,
        parsed.address_parts,
        {{ json_text(fields.phone) }} as phone,
        {{ json_text(fields.email) }} as email,
        {{ json_text(fields.city) }} as city,
        {{ json_text(fields.province) }} as province,
        {{ json_text(fields.tier) }} as tier,
        {{ json_text(fields.category) }} as category_raw,
        {{ json_text(fields.product_count) }} as product_count_text,
        {{ json_text(fields.licence) }} as licence_text,
        {{ json_text(fields.opened) }} as opened_text,
        {{ json_text(fields.status) }} as status
    from source
    {{ parsed_matching_text(
        json_text(fields.shop_name), json_text(fields.owner_name), json_text(fields.street)
    ) }}
),

{{ resolved_places('extracted', 'extracted.city', 'extracted.province') }},

{{ commodity_of_categories('extracted', 'extracted.category_raw') }},

final as (
    select
        extracted.version_id,
        extracted.shop_name,
        public.umkm_name_from_clean(extracted.name_clean) as name_norm,
        public.umkm_legal_form_from_clean(extracted.name_clean) as legal_form,
        {{ pii_hash(phone_for_hash('extracted.phone'), 'phone') }} as phone_hash,
        {{ pii_hash(email_for_hash('extracted.email'), 'email') }} as email_hash,
        {{ owner_keys('extracted.owner_tokens') }},
        {{ address_keys('extracted.address_parts') }},
        {{ licence_clean('extracted.licence_text') }} as licence,
        resolved.regency_code,
        left(resolved.regency_code, 2) as province_code,
        extracted.tier,
        coalesce(extracted.tier in ({{ "'" ~ brand_tiers | join("', '") ~ "'" }}), false)
            as is_brand_store,
        extracted.status,
        coalesce(extracted.status in ({{ "'" ~ closed_statuses | join("', '") ~ "'" }}), false)
            as is_closed,
        extracted.category_raw,
        category_commodities.commodity,
        {{ to_bigint('extracted.product_count_text') }} as product_count,
        {{ parse_source_date('extracted.opened_text', formats.opened) }} as opened_on
    from extracted
    cross join pii_key
    left join resolved
        on
            coalesce(extracted.city, '') = resolved.city_key
            and coalesce(extracted.province, '') = resolved.province_key
    left join category_commodities
        on extracted.category_raw = category_commodities.category_text
)

select * from final
{%- endmacro %}

{#- Pre-hook of a staging model: resolve every distinct (city, province) spelling of the
    source once with umkm_regency_code, which remembers it (typos included), so the model's
    read-only, parallel-safe umkm_regency_code_lookup finds them all. Validation does the
    same on the way in; this makes dbt correct on its own. `by_version`: the versions to
    stage of a list staged by version (macro versions_to_stage). -#}
{% macro remember_regencies(source_id, city_path, province_path, by_version=false) -%}
select count(public.umkm_regency_code(places.city, places.province))
from (
    select distinct
        {{ json_text(city_path, 'r') }} as city,
        {% if province_path %}{{ json_text(province_path, 'r') }}{% else %}null::text{% endif %}
            as province
    {% if by_version -%}
    from {{ source(source_id, source_id ~ '__versions') }} as r
    where {{ versions_to_stage(source_id, 'r') }}
    {%- else -%}
    from {{ source(source_id, source_id) }} as r
    where {{ snapshots_to_stage(source_id, 'r') }}
    {%- endif %}
) as places
{%- endmacro %}

{#- Two CTEs for a staging model: `places`, the distinct (city, province) spellings of
    `relation`, and `resolved`, each one's BPS regency code (looked up once per spelling, not
    per record). Join back on coalesce(city, '') = city_key and the same for province.
    `city` and `province` are expressions; a column of that name already is not aliased. -#}
{% macro resolved_places(relation, city, province) -%}
places as (
    select distinct
        {{ city }}{{ ' as city' if city.split('.')[-1] != 'city' }},
        {{ province }}{{ ' as province' if province.split('.')[-1] != 'province' }}
    from {{ relation }}
),

resolved as (
    select
        coalesce(places.city, '') as city_key,
        coalesce(places.province, '') as province_key,
        public.umkm_regency_code_lookup(places.city, places.province) as regency_code
    from places
)
{%- endmacro %}

{#- The staged records of every marketplace, the registry, the other government lists and the
    e-Smart list, in one shape
    (a select statement): int_records_unioned stores it; int_entity_records reads it too, so
    entity resolution starts when staging ends instead of after the union is stored and
    tested (39 s at scale 1.0 on the serial path). `matching`: with the matching keys only
    entity resolution reads (owner words and initials, street and address keys, the
    platforms a registry or e-Smart record names). -#}
{#- The marketplaces' source ids (plugins/umkm/sources/registry.yaml, kind marketplace), in
    registry order: read from the generated macro registry_marketplaces(). -#}
{% macro marketplace_ids() -%}
{{- return(registry_marketplaces() | map(attribute='source_id') | list) -}}
{%- endmacro %}

{% macro staged_records(matching=false) -%}
{%- set marketplaces = marketplace_ids() -%}
{%- set lists = registry_lists() -%}
with

{% for sid in marketplaces -%}
    {{ sid }} as (
        select * from {{ ref('stg_' ~ sid ~ '__merchants') }}
    ),

{% endfor -%}

{% for list in lists -%}
    {{ list.source_id }} as (
        select * from {{ ref(list.model) }}
    ),

{% endfor -%}
esmart as (
    select * from {{ ref('stg_kemenperin__participants') }}
),

marketplace_records as (
    {% for sid in marketplaces -%}
        select
            snapshot,
            source_id,
            record_id,
            'marketplace'::text as source_kind,
            source_id as platform,
            shop_name,
            name_norm,
            legal_form,
            phone_hash,
            email_hash,
            owner_hash,
            null::bigint as nik_hash,
            licence,
            regency_code,
            province_code,
            commodity,
            null::text as business_scale,
            is_brand_store,
            is_closed,
            (not is_brand_store and not is_closed) as is_counted,
            product_count,
            opened_on,
            last_active_on,
            is_dormant,
            null::boolean as is_registry_active,
            null::integer as training_year
            {%- if matching %},
                owner_words,
                owner_initials,
                street_key,
                address_key,
                null::text[] as platforms_named
            {%- endif %}
        from {{ sid }}
        {%- if not loop.last %}
        union all
        {% endif -%}
    {%- endfor %}
),

{# the registry (source_kind registry: the bridge's) and the other government lists
    (source_kind government_list); is_registry_active: an active record of its list -#}
list_records as (
    {% for list in lists -%}
        select
            snapshot,
            source_id,
            record_id,
            '{{ list.kind }}'::text as source_kind,
            null::text as platform,
            shop_name,
            name_norm,
            legal_form,
            phone_hash,
            email_hash,
            owner_hash,
            nik_hash,
            licence,
            regency_code,
            province_code,
            null::text as commodity,
            business_scale,
            false as is_brand_store,
            false as is_closed,
            false as is_counted,
            null::bigint as product_count,
            registered_on as opened_on,
            null::date as last_active_on,
            false as is_dormant,
            is_active as is_registry_active,
            null::integer as training_year
            {%- if matching %},
                owner_words,
                owner_initials,
                street_key,
                address_key,
                platforms_declared as platforms_named
            {%- endif %}
        from {{ list.source_id }}
        {%- if not loop.last %}
        union all
        {% endif -%}
    {%- endfor %}
),

esmart_records as (
    select
        snapshot,
        source_id,
        record_id,
        'ministry_list'::text as source_kind,
        null::text as platform,
        shop_name,
        name_norm,
        legal_form,
        phone_hash,
        null::bigint as email_hash,
        owner_hash,
        null::bigint as nik_hash,
        null::text as licence,
        regency_code,
        province_code,
        commodity,
        null::text as business_scale,
        false as is_brand_store,
        false as is_closed,
        false as is_counted,
        null::bigint as product_count,
        null::date as opened_on,
        null::date as last_active_on,
        false as is_dormant,
        null::boolean as is_registry_active,
        training_year
        {%- if matching %},
            owner_words,
            owner_initials,
            street_key,
            address_key,
            array_remove(array[lower(onboarded_marketplace)], null) as platforms_named
        {%- endif %}
    from esmart
),

final as (
    select * from marketplace_records
    union all
    select * from list_records
    union all
    select * from esmart_records
)

select * from final
{%- endmacro %}

{#- One row per snapshot, source and category text as delivered (the marketplaces' category,
    the e-Smart list's `Komoditas`), with the commodity staging read from it and how many
    records carry it: the data-quality marts of the mapping read this, not every staged row. -#}
{%- set sources = marketplace_ids() -%}

with

{% for sid in sources -%}
    {{ sid }} as (
        select
            snapshot,
            source_id,
            category_raw,
            commodity
        from {{ ref('stg_' ~ sid ~ '__merchants') }}
    ),

{% endfor -%}

kemenperin as (
    select
        snapshot,
        source_id,
        category_raw,
        commodity
    from {{ ref('stg_kemenperin__participants') }}
),

staged as (
    {% for sid in sources + ['kemenperin'] -%}
        select
            snapshot,
            source_id,
            category_raw,
            commodity
        from {{ sid }}
        {% if not loop.last %}union all
        {% endif -%}
    {%- endfor %}
),

final as (
    select
        snapshot,
        source_id,
        category_raw as category_text,
        -- one text, one commodity: the mapping reads nothing but the text
        min(commodity) as commodity,
        count(*) as records
    from staged
    group by snapshot, source_id, category_raw
)

select * from final

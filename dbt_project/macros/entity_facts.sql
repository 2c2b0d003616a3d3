{#- The bridge's sets per business and snapshot, and the counts the bridge and the population
    estimate take from them, written once: fct_umkm_entity_snapshots computes them for the
    businesses entity resolution found, int_bridge_matching_draws for the businesses of each
    draw of the uncertain links (the bridge's intervals). `keys` are the grouping columns:
    e.g. ['snapshot', 'entity_id'], or ['draw', 'snapshot', 'entity_id']. -#}

{#- The columns of a record (int_records_unioned) that entity_snapshot_facts reads, each
    qualified by `relation` when given: both callers select exactly these. -#}
{% macro entity_fact_columns(relation=none) -%}
{%- set columns = ['snapshot', 'source_id', 'source_kind', 'platform', 'is_brand_store',
                   'is_counted', 'product_count', 'is_dormant', 'is_registry_active',
                   'training_year'] -%}
{%- for column in columns -%}
{{ relation ~ '.' if relation }}{{ column }}{{ ',\n' if not loop.last }}
{%- endfor -%}
{%- endmacro %}

{#- The columns entity_snapshot_facts returns beside its keys, in its order: the ranges of
    fct_umkm_entity_snapshot_ranges group by them, and the view fct_umkm_entity_snapshots
    lists them. -#}
{% macro entity_snapshot_fact_names() -%}
{{- return(['counted_accounts', 'platforms', 'active_platforms', 'platform_count',
            'has_brand_store', 'max_counted_products', 'is_large_enterprise',
            'is_on_marketplace', 'is_umkm_on_marketplace', 'is_active_online',
            'is_in_registry', 'is_in_esmart', 'is_online_umkm', 'active_registry_records',
            'esmart_records', 'government_lists', 'is_on_government_list']) -}}
{%- endmacro %}

{#- One row per `keys` (a business at a snapshot) from `resolved`: one row per record at a
    snapshot with its business (the columns of entity_fact_columns and the keys).
    government_lists: the government lists (kind government_list, not the bridge's
    registry) holding an active record of the business; being on one makes a business an
    online UMKM, like the registry and e-Smart do. -#}
{% macro entity_snapshot_facts(resolved, keys) -%}
{%- set min_products = var('large_enterprise_min_products') -%}
select
    {{ keys | join(',\n    ') }},
    counted_accounts,
    platforms,
    active_platforms,
    platform_count,
    has_brand_store,
    max_counted_products,
    is_large_enterprise,
    is_on_marketplace,
    is_on_marketplace and not is_large_enterprise as is_umkm_on_marketplace,
    (
        is_on_marketplace
        and not is_large_enterprise
        and cardinality(active_platforms) > 0
    ) as is_active_online,
    is_in_registry,
    is_in_esmart,
    (
        not is_large_enterprise
        and (
            (is_on_marketplace and cardinality(active_platforms) > 0)
            or is_in_registry
            or is_in_esmart
            or is_on_government_list
        )
    ) as is_online_umkm,
    active_registry_records,
    esmart_records,
    government_lists,
    is_on_government_list
from (
    select
        {{ keys | join(',\n        ') }},
        counted_accounts,
        platforms,
        active_platforms,
        cardinality(platforms) as platform_count,
        has_brand_store,
        max_counted_products,
        (
            has_brand_store
            or coalesce(max_counted_products >= {{ min_products }}, false)
        ) as is_large_enterprise,
        counted_accounts > 0 as is_on_marketplace,
        active_registry_records > 0 as is_in_registry,
        esmart_records > 0 as is_in_esmart,
        active_registry_records,
        esmart_records,
        government_lists,
        cardinality(government_lists) > 0 as is_on_government_list
    from (
        select
            {{ keys | join(',\n            ') }},
            count(*) filter (
                where source_kind = 'marketplace' and is_counted
            ) as counted_accounts,
            coalesce(
                array_agg(distinct platform order by platform) filter (
                    where source_kind = 'marketplace' and is_counted
                ),
                array[]::text[]
            ) as platforms,
            coalesce(
                array_agg(distinct platform order by platform) filter (
                    where
                    source_kind = 'marketplace'
                    and is_counted
                    and not coalesce(is_dormant, false)
                ),
                array[]::text[]
            ) as active_platforms,
            coalesce(
                bool_or(is_brand_store) filter (where source_kind = 'marketplace'), false
            ) as has_brand_store,
            max(product_count) filter (
                where source_kind = 'marketplace' and is_counted
            ) as max_counted_products,
            count(*) filter (
                where source_kind = 'registry' and is_registry_active
            ) as active_registry_records,
            count(*) filter (
                where
                source_kind = 'ministry_list'
                and training_year between 2017 and extract(year from snapshot)
            ) as esmart_records,
            coalesce(
                array_agg(distinct source_id order by source_id) filter (
                    where source_kind = 'government_list' and is_registry_active
                ),
                array[]::text[]
            ) as government_lists
        from {{ resolved }}
        group by {{ keys | join(', ') }}
    ) as per_entity
) as flagged
{%- endmacro %}

{#- The counts of the bridge (docs/BRIDGE.md) per `keys` from `entities` (rows of
    entity_snapshot_facts): counted accounts, distinct (business, marketplace) pairs among
    them, businesses on marketplaces (B), e-Smart records, large enterprises, dormant ones,
    active online UMKM (A), those registered, active registry records (C). -#}
{% macro bridge_entity_counts(entities, keys) -%}
select
    {{ keys | join(',\n    ') }},
    sum(counted_accounts) as counted,
    sum(platform_count) as pairs,
    count(*) filter (where is_on_marketplace) as b,
    sum(esmart_records) as m,
    count(*) filter (where is_on_marketplace and is_large_enterprise) as large_enterprises,
    count(*) filter (where is_umkm_on_marketplace and not is_active_online) as dormant,
    count(*) filter (where is_active_online) as a,
    count(*) filter (where is_active_online and is_in_registry) as a_registered,
    sum(active_registry_records) as c
from {{ entities }}
group by {{ keys | join(', ') }}
{%- endmacro %}

{#- The capture histories of the population estimate, counted per `keys` from the online
    UMKM among `entities`: observed businesses, on marketplaces, in the registry, on both,
    on either, the three-list cells n<a><b><c> (marketplaces A, marketplaces B, registry)
    and the list sizes. Marketplaces A are `list_a_platforms`, B the others. With the
    government lists (macro government_list_ids): each one's size n_list_<id>, and n_lists,
    the businesses on any list of the independence model (A, B, the registry and each
    government list; n_lists = the three-list cells' sum when there is none). -#}
{% macro population_list_counts(entities, keys, list_a_platforms) -%}
{%- set list_a = "array['" ~ list_a_platforms | join("', '") ~ "']::text[]" -%}
select
    {{ keys | join(',\n    ') }},
    count(*)::numeric as n_observed,
    count(*) filter (where on_marketplaces)::numeric as n_marketplaces,
    count(*) filter (where on_registry)::numeric as n_registry,
    count(*) filter (where on_marketplaces and on_registry)::numeric as n_both,
    count(*) filter (where on_marketplaces or on_registry)::numeric as n_two_lists,
    {%- for a in [0, 1] %}{% for b in [0, 1] %}{% for c in [0, 1] %}
        {%- if a + b + c > 0 %}
    count(*) filter (
        where
        on_marketplaces_a = {{ 'true' if a else 'false' }}
        and on_marketplaces_b = {{ 'true' if b else 'false' }}
        and on_registry = {{ 'true' if c else 'false' }}
    )::numeric as n{{ a }}{{ b }}{{ c }},
        {%- endif %}
    {%- endfor %}{% endfor %}{% endfor %}
    count(*) filter (where on_marketplaces_a)::numeric as n_list_a,
    count(*) filter (where on_marketplaces_b)::numeric as n_list_b,
    {%- for list_id in government_list_ids() %}
    count(*) filter (where '{{ list_id }}' = any(government_lists))::numeric
        as n_list_{{ list_id }},
    {%- endfor %}
    count(*) filter (
        where on_marketplaces or on_registry or is_on_government_list
    )::numeric as n_lists
from (
    select
        {{ keys | join(',\n        ') }},
        is_active_online as on_marketplaces,
        is_in_registry as on_registry,
        government_lists,
        is_on_government_list,
        is_active_online and active_platforms && {{ list_a }} as on_marketplaces_a,
        is_active_online and not active_platforms <@ {{ list_a }} as on_marketplaces_b
    from {{ entities }}
    where is_online_umkm
) as histories
group by {{ keys | join(', ') }}
{%- endmacro %}

{#- The government lists' source ids (kind government_list; not the bridge's registry), in
    registry order: each is a list of its own in the population estimate. -#}
{% macro government_list_ids() -%}
{{- return(
    registry_lists() | selectattr('kind', 'equalto', 'government_list')
    | map(attribute='source_id') | list
) -}}
{%- endmacro %}

{#- The list-size columns of the population's independence model (population_list_counts):
    marketplaces A and B, the registry, and each government list. -#}
{% macro independence_list_sizes() -%}
{%- set sizes = ['n_list_a', 'n_list_b', 'n_registry'] -%}
{%- for list_id in government_list_ids() -%}
{%- do sizes.append('n_list_' ~ list_id) -%}
{%- endfor -%}
{{- return(sizes) -}}
{%- endmacro %}

{#- The government lists as `lists_used` names them: "; <id> (government list)" each. -#}
{% macro government_lists_named() -%}
{%- set named = [] -%}
{%- for list_id in government_list_ids() -%}
{%- do named.append('; ' ~ list_id ~ ' (government list)') -%}
{%- endfor -%}
{{- return(named | join('')) -}}
{%- endmacro %}

{#- Column lists over `names`, one column a line (indent them where they are called):
    `rel.x + deltas.delta_x as x, ...` (a count moved by a draw), `coalesce(rel.x, 0) as x,
    ...`, and `new.x - old.x as delta_x, ...`. -#}
{% macro moved_columns(rel, deltas, names) -%}
{%- for name in names -%}
{{ rel }}.{{ name }} + {{ deltas }}.delta_{{ name }} as {{ name }}{{ ",\n" if not loop.last }}
{%- endfor -%}
{%- endmacro %}

{% macro zero_filled_columns(rel, names) -%}
{%- for name in names -%}
coalesce({{ rel }}.{{ name }}, 0) as {{ name }}{{ ",\n" if not loop.last }}
{%- endfor -%}
{%- endmacro %}

{% macro delta_columns(new, old, names) -%}
{%- for name in names -%}
{{ new }}.{{ name }} - {{ old }}.{{ name }} as delta_{{ name }}{{ ",\n" if not loop.last }}
{%- endfor -%}
{%- endmacro %}

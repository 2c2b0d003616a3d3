{#- One row per record identity (source, record id) over all snapshots, with the attributes
    of its latest snapshot and the date it was first seen. The personal values are staging's
    keyed 64-bit keys (macro pii_hash): the joins of entity resolution over millions of pairs
    compare integers. `rid` orders records by first
    seen, then source and id: the smallest rid of a cluster is its earliest record, which
    names the entity (stable across snapshots). -#}
{#- The key as a unique index: the build fails on a duplicate rid, and the planner knows
    the key with or without statistics. Unnamed: on a rebuild, the post-hook runs while the
    previous table (kept until commit) still holds its index, and a fixed name with `if not
    exists` skipped the new one (every build after the first ran without the index). -#}
{{ config(post_hook=[
    "create unique index on {{ this }} (rid)",
]) }}

with

-- the union int_records_unioned stores, read from staging (macro staged_records): this
-- model need not wait for that table and its tests
records as not materialized (
    {{ staged_records(matching=true) }}
),

regencies as (
    select * from {{ ref('stg_bps__regencies') }}
),

-- the marketplaces (source ids): what a registry or e-Smart record's free-text list of
-- platforms can name
marketplaces as (
    select marketplace.platform
    from (
        values
        {%- for sid in marketplace_ids() %}
            ('{{ sid }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as marketplace (platform)
),

-- each distinct free-text platform list once, with the marketplaces it names (a few hundred
-- lists for millions of registry records: matched per record, the trigram comparisons were
-- 12 s of this model at 0.1); `records` is read again for them, not stored
named_lists as materialized (
    select
        lists.platforms_named,
        (
            select array_agg(distinct marketplaces.platform order by marketplaces.platform)
            from unnest(lists.platforms_named) as named (item)
            inner join marketplaces
                on {{ names_platform('named.item', 'marketplaces.platform') }}
        ) as platforms
    from (
        select distinct records.platforms_named
        from records
        where records.platforms_named is not null
    ) as lists
),

-- A kabupaten and a kota of the same name in one province (Kab. Bandung / Kota Bandung)
-- are one matching region: sellers write the bare name for either.
twin_regions as (
    select
        regency_code,
        min(regency_code) over (
            partition by
                province_code, regexp_replace(regency_name, '^(KABUPATEN|KOTA) ', '')
        ) as match_region
    from regencies
    where snapshot = (select max(r.snapshot) from regencies as r)
),

latest as (
    select distinct on (records.source_id, records.record_id)
        records.source_id,
        records.record_id,
        records.source_kind,
        records.platform,
        records.shop_name,
        records.name_norm,
        records.phone_hash,
        records.email_hash,
        records.owner_hash,
        records.nik_hash,
        records.licence,
        records.regency_code,
        records.province_code,
        records.commodity,
        records.business_scale,
        records.is_brand_store,
        records.owner_words,
        records.owner_initials,
        records.street_key,
        records.address_key,
        records.platforms_named,
        -- in the same sort as the distinct on: one pass over the records, no second one
        -- grouping them and a join back (about 35 s at scale 1.0)
        min(records.snapshot) over (
            partition by records.source_id, records.record_id
            order by records.snapshot desc
            rows between unbounded preceding and unbounded following
        ) as first_seen
    from records
    order by records.source_id asc, records.record_id asc, records.snapshot desc
),

final as (
    select
        row_number() over (
            order by latest.first_seen, latest.source_id, latest.record_id
        ) as rid,
        latest.source_id,
        latest.record_id,
        latest.first_seen,
        latest.source_kind,
        latest.platform,
        latest.shop_name,
        latest.name_norm,
        latest.phone_hash,
        latest.email_hash,
        latest.owner_hash,
        latest.nik_hash,
        latest.licence,
        latest.regency_code,
        coalesce(twin_regions.match_region, latest.regency_code) as match_region,
        latest.province_code,
        latest.commodity,
        latest.business_scale,
        latest.is_brand_store,
        public.umkm_tokens_sorted(string_to_array(latest.name_norm, ' ')) as name_sorted,
        latest.owner_words,
        latest.owner_initials,
        latest.street_key,
        latest.address_key,
        named_platforms.platforms as platforms_named
    from latest
    left join twin_regions on latest.regency_code = twin_regions.regency_code
    left join named_lists as named_platforms
        on latest.platforms_named = named_platforms.platforms_named
)

select * from final

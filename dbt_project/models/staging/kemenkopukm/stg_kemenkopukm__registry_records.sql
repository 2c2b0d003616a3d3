with

source as (
    select
        raw_records.snapshot,
        raw_records.record_id,
        raw_records.record,
        parsed.name_clean,
        parsed.owner_tokens,
        parsed.address_parts
    from {{ source('kemenkopukm', 'kemenkopukm') }} as raw_records
    {{ parsed_matching_text(
        "raw_records.record ->> 'nama_usaha'",
        "raw_records.record ->> 'nama_pemilik'",
        "raw_records.record ->> 'alamat'",
    ) }}
),

{{ pii_key_cte() }},

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
            order by 1
        ) as platforms_declared
    from (
        select distinct coalesce(raw_records.record ->> 'platform_online', '') as platform_online
        from {{ source('kemenkopukm', 'kemenkopukm') }} as raw_records
    ) as texts
),

final as (
    select
        source.snapshot,
        'kemenkopukm'::text as source_id,
        source.record_id,
        source.record ->> 'nama_usaha' as shop_name,
        public.umkm_name_from_clean(source.name_clean) as name_norm,
        public.umkm_legal_form_from_clean(source.name_clean) as legal_form,
        {{ pii_hash(phone_for_hash("source.record ->> 'no_hp'"), 'phone') }} as phone_hash,
        {{ pii_hash(email_for_hash("source.record ->> 'email'"), 'email') }} as email_hash,
        {{ owner_keys('source.owner_tokens') }},
        {{ address_keys('source.address_parts') }},
        {{ pii_hash(nik_for_hash("source.record ->> 'nik_pemilik'"), 'nik') }}
            as nik_hash,
        {{ licence_clean("source.record ->> 'nib'") }} as licence,
        nullif(btrim(source.record ->> 'kode_kabupaten'), '') as regency_code,
        left(nullif(btrim(source.record ->> 'kode_kabupaten'), ''), 2) as province_code,
        case lower(btrim(source.record ->> 'skala_usaha'))
            when 'mikro' then 'micro'
            when 'kecil' then 'small'
            when 'menengah' then 'medium'
        end as business_scale,
        {{ parse_source_date("source.record ->> 'tanggal_daftar'", 'yyyy-mm-dd') }}
            as registered_on,
        source.record ->> 'status' as status,
        coalesce(lower(btrim(source.record ->> 'status')) = 'aktif', false) as is_active,
        platform_lists.platforms_declared
    from source
    cross join pii_key
    inner join platform_lists
        on coalesce(source.record ->> 'platform_online', '') = platform_lists.platform_online
)

select * from final

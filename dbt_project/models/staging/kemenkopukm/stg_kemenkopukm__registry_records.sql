with

source as (
    select
        snapshot,
        record_id,
        record,
        -- cleaned once for both the matching name and the legal form
        public.umkm_clean_name(record ->> 'nama_usaha') as name_clean,
        public.umkm_person_tokens(record ->> 'nama_pemilik') as owner_tokens,
        public.umkm_address_parts(record ->> 'alamat') as address_parts
    from {{ source('kemenkopukm', 'kemenkopukm') }}
),

{{ pii_key_cte() }},

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
        array(
            select distinct lower(btrim(part.item))
            from
                regexp_split_to_table(
                    coalesce(source.record ->> 'platform_online', ''), '[,;/|]+'
                ) as part (item)
            where btrim(part.item) <> ''
            order by 1
        ) as platforms_declared
    from source
    cross join pii_key
)

select * from final

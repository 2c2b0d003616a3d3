{{ config(pre_hook="{{ remember_regencies('kemenperin', 'Kabupaten/Kota', 'Provinsi') }}") }}

with

source as (
    select
        raw_records.snapshot,
        raw_records.record_id,
        raw_records.record,
        parsed.name_clean,
        parsed.owner_tokens,
        parsed.address_parts
    from {{ source('kemenperin', 'kemenperin') }} as raw_records
    {{ parsed_matching_text(
        "raw_records.record ->> 'Nama IKM'",
        "raw_records.record ->> 'Nama Pemilik'",
        "raw_records.record ->> 'Alamat'",
    ) }}
),

{{ pii_key_cte() }},

{{ resolved_places(
    'source', "source.record ->> 'Kabupaten/Kota'", "source.record ->> 'Provinsi'"
) }},

{{ commodity_of_categories('source', "source.record ->> 'Komoditas'") }},

final as (
    select
        source.snapshot,
        'kemenperin'::text as source_id,
        source.record_id,
        source.record ->> 'Nama IKM' as shop_name,
        public.umkm_name_from_clean(source.name_clean) as name_norm,
        public.umkm_legal_form_from_clean(source.name_clean) as legal_form,
        {{ pii_hash(phone_for_hash("source.record ->> 'No. Telp'"), 'phone') }} as phone_hash,
        {{ owner_keys('source.owner_tokens') }},
        {{ address_keys('source.address_parts') }},
        resolved.regency_code,
        left(resolved.regency_code, 2) as province_code,
        source.record ->> 'Komoditas' as category_raw,
        category_commodities.commodity,
        nullif(btrim(source.record ->> 'Sentra IKM'), '') as centre,
        {{ to_bigint("source.record ->> 'Tahun Pelatihan'") }}::integer as training_year,
        nullif(btrim(source.record ->> 'Marketplace'), '') as onboarded_marketplace
    from source
    cross join pii_key
    left join resolved
        on
            coalesce(source.record ->> 'Kabupaten/Kota', '') = resolved.city_key
            and coalesce(source.record ->> 'Provinsi', '') = resolved.province_key
    left join category_commodities
        on source.record ->> 'Komoditas' = category_commodities.category_text
)

select * from final

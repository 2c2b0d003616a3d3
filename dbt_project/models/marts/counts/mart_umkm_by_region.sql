{#- Active online UMKM per BPS regency (with its province) and snapshot. A business whose
    regency could not be resolved is counted under a null regency, named 'Tidak diketahui'. -#}

with

entities as (
    select
        snapshot,
        entity_id,
        is_in_registry
    from {{ ref('fct_umkm_entity_snapshots') }}
    where is_active_online
),

dim_entity as (
    select
        entity_id,
        regency_code,
        province_code
    from {{ ref('dim_umkm_entity') }}
),

-- the latest BPS reference holding each code
regencies as (
    select distinct on (regency_code)
        regency_code,
        regency_name,
        province_code
    from {{ ref('stg_bps__regencies') }}
    order by regency_code asc, snapshot desc
),

provinces as (
    select distinct on (province_code)
        province_code,
        province_name
    from {{ ref('stg_bps__provinces') }}
    order by province_code asc, snapshot desc
),

located as (
    select
        entities.snapshot,
        entities.entity_id,
        entities.is_in_registry,
        regencies.regency_code,
        regencies.regency_name,
        coalesce(regencies.province_code, dim_entity.province_code) as province_code
    from entities
    left join dim_entity on entities.entity_id = dim_entity.entity_id
    left join regencies on dim_entity.regency_code = regencies.regency_code
),

counted as (
    select
        snapshot,
        province_code,
        regency_code,
        regency_name,
        count(*) as active_umkm,
        count(*) filter (where is_in_registry) as active_umkm_registered
    from located
    group by snapshot, province_code, regency_code, regency_name
),

final as (
    select
        counted.snapshot,
        counted.province_code,
        coalesce(provinces.province_name, 'Tidak diketahui') as province_name,
        counted.regency_code,
        coalesce(counted.regency_name, 'Tidak diketahui') as regency_name,
        counted.active_umkm,
        counted.active_umkm_registered
    from counted
    left join provinces on counted.province_code = provinces.province_code
)

select * from final

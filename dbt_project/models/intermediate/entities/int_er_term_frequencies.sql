{#- How often each value of the term-frequency comparisons occurs among the record
    identities: an exact agreement on a common value ("Berkah Jaya", "Budi Santoso", a
    reseller's phone) is weaker evidence than on a rare one (macro er_comparisons, `tf`).
    One row per comparison and value key (the name's 64-bit hash, or the matching key). -#}
with

records as not materialized (
    select
        name_norm,
        owner_hash,
        phone_hash,
        email_hash
    from {{ ref('int_entity_records') }}
),

counted as (
    select
        'name'::text as comparison,
        hashtextextended(name_norm, 0) as value_key,
        count(*) as n_records
    from records
    where name_norm is not null
    group by 2
    union all
    select
        'owner'::text as comparison,
        owner_hash as value_key,
        count(*) as n_records
    from records
    where owner_hash is not null
    group by 2
    union all
    select
        'phone'::text as comparison,
        phone_hash as value_key,
        count(*) as n_records
    from records
    where phone_hash is not null
    group by 2
    union all
    select
        'email'::text as comparison,
        email_hash as value_key,
        count(*) as n_records
    from records
    where email_hash is not null
    group by 2
),

final as (
    select
        comparison,
        value_key,
        n_records,
        n_records::float8 / sum(n_records) over (partition by comparison) as term_frequency
    from counted
)

select * from final

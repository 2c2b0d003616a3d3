{#- The pairs entity resolution accepts: a match probability of er_match_probability or
    more (int_entity_pairs_scored), with their evidence (the level of every comparison),
    the weight and probability, and a rule named after the strongest identifier that
    agrees. `is_strong` (er_strong_probability) marks the links the clustering keeps when a
    cluster grows too large. -#}
with

scored as (
    select * from {{ ref('int_entity_pairs_scored') }}
),

final as (
    select
        rid_a,
        rid_b,
        source_id_a,
        source_id_b,
        case
            when level_licence = {{ er_top_level('licence') }} then 'licence'
            when level_national_id = {{ er_top_level('national_id') }} then 'national_id'
            when level_phone = {{ er_top_level('phone') }} then 'phone'
            when level_email = {{ er_top_level('email') }} then 'email'
            when level_owner >= {{ er_top_level('owner') - 1 }} then 'owner_name'
            else 'name_regency'
        end as match_rule,
        match_weight,
        match_probability,
        match_probability >= {{ er_setting('er_strong_probability') }} as is_strong,
        {{ er_level_names() }},
        blocks
    from scored
    where match_probability >= {{ er_setting('er_match_probability') }}
)

select * from final

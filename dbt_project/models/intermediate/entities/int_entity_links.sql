{#- The pairs entity resolution accepts: a match probability of er_match_probability or
    more (int_entity_pairs_scored), unless a steward labelled the pair non_match, and every
    pair a steward labelled match; with their evidence (the level of every comparison), the
    weight and probability, and a rule named after the strongest identifier that agrees
    (`steward` for a steward's match). `is_strong` (er_strong_probability) marks the links
    the clustering keeps when a cluster grows too large. -#}
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
            when steward_label = 'match' then 'steward'
            when level_licence = {{ er_top_level('licence') }} then 'licence'
            when level_national_id = {{ er_top_level('national_id') }} then 'national_id'
            when level_phone = {{ er_top_level('phone') }} then 'phone'
            when level_email = {{ er_top_level('email') }} then 'email'
            when level_owner >= {{ er_top_level('owner') - 1 }} then 'owner_name'
            else 'name_regency'
        end as match_rule,
        match_weight,
        match_probability,
        decided_probability,
        decided_probability >= {{ er_setting('er_strong_probability') }} as is_strong,
        {{ er_level_names() | indent(8) }},
        blocks
    from scored
    where decided_probability >= {{ er_setting('er_match_probability') }}
)

select * from final

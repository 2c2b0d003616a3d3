{#- What entity resolution learned from this build's data, for reviewers and the report: the
    Fellegi-Sunter parameters of int_er_parameters (docs/ENTITY_RESOLUTION.md), one row per
    comparison level and one `prior` row, with the links they made and the match probability a
    link needs (er_match_probability). No personal data. -#}
with

parameters as (
    select * from {{ ref('int_er_parameters') }}
),

links as (
    select count(*) as n_links from {{ ref('int_entity_links') }}
),

final as (
    select
        parameters.parameter,
        parameters.slot_index,
        parameters.comparison,
        parameters.level_number,
        parameters.meaning,
        parameters.is_tf,
        parameters.m_probability,
        parameters.u_probability,
        parameters.match_weight,
        parameters.estimated_in,
        parameters.prior_probability,
        parameters.expected_matching_pairs,
        case when parameters.parameter = 'prior' then links.n_links end as links_accepted,
        case
            when parameters.parameter = 'prior' then {{ er_setting('er_match_probability') }}
        end::float8 as link_threshold
    from parameters
    cross join links
)

select * from final

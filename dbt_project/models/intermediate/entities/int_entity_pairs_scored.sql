{#- Parallel workers at zero setup and tuple costs, as in the candidate pairs. -#}
{{ config(**er_session_hooks(er_parallel_settings())) }}
{#- Every candidate pair with its match weight and match probability under this build's
    model (int_er_parameters): weight = log2(prior odds) + the weights of its levels, where
    an exact agreement on a value with a term frequency weighs log2(m / frequency of that
    value) instead of log2(m / u); probability = 2^w / (1 + 2^w). A steward's decision
    (stewardship.er_labels) overrides the model: `decided_probability` is 1 for a pair
    labelled match (added when blocking did not propose it), 0 for non_match, else the
    model's. Links, the review queue and the bridge's intervals read it. -#}

with

compared as (
    select * from {{ ref('int_entity_pairs_compared') }}
),

frequencies as not materialized (
    select * from {{ ref('int_er_term_frequencies') }}
),

model as (
    select
        array_agg(match_weight order by slot_index) filter (where parameter = 'level')
            as weights,
        array_agg(m_probability order by slot_index) filter (where parameter = 'level') as m,
        max(match_weight) filter (where parameter = 'prior') as prior_weight
    from {{ ref('int_er_parameters') }}
),

weighed as (
    select
        compared.*,
        {{ er_match_weight() }} as match_weight
    from compared
    cross join model
    {{ er_term_frequency_joins('frequencies') }}
),

scored as (
    select
        rid_a,
        rid_b,
        source_id_a,
        source_id_b,
        blocks,
        {{ er_level_names() | indent(8) }},
        match_weight,
        1.0 / (1.0 + power(2.0::float8, least(1000, greatest(-1000, -match_weight))))
            as match_probability
    from weighed
),

-- the stewards' decisions (stewardship.er_labels), on this build's rids
records as not materialized (
    select
        rid,
        source_id,
        record_id
    from {{ ref('int_entity_records') }}
),

labels as (
    select
        least(a.rid, b.rid) as rid_a,
        greatest(a.rid, b.rid) as rid_b,
        case when a.rid < b.rid then a.source_id else b.source_id end as source_id_a,
        case when a.rid < b.rid then b.source_id else a.source_id end as source_id_b,
        decided.label
    from {{ ref('stg_stewardship__er_labels') }} as decided
    inner join records as a
        on decided.source_id_a = a.source_id and decided.record_id_a = a.record_id
    inner join records as b
        on decided.source_id_b = b.source_id and decided.record_id_b = b.record_id
),

final as (
    select
        scored.*,
        labels.label as steward_label,
        case labels.label
            when 'match' then 1.0
            when 'non_match' then 0.0
            else scored.match_probability
        end as decided_probability
    from scored
    left join labels on scored.rid_a = labels.rid_a and scored.rid_b = labels.rid_b
    union all
    -- a pair a steward matched that blocking did not propose
    select
        labels.rid_a,
        labels.rid_b,
        labels.source_id_a,
        labels.source_id_b,
        'steward' as blocks,
        {%- for comparison in er_comparisons() %}
            null::smallint as level_{{ comparison.name }},
        {%- endfor %}
        null::float8 as match_weight,
        null::float8 as match_probability,
        labels.label as steward_label,
        1.0 as decided_probability
    from labels
    where
        labels.label = 'match'
        and not exists (
            select 1
            from scored
            where scored.rid_a = labels.rid_a and scored.rid_b = labels.rid_b
        )
)

select * from final

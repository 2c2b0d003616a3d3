{#- The pairs for a steward to decide next: candidate pairs the model is unsure of (match
    probability within er_review_band) that no steward has decided, with the evidence of
    every comparison (the level's meaning and weight) and the two records' business names
    and regions; the records themselves are in raw (`umkm er review` shows them). The pairs
    nearest the link threshold (er_match_probability) come first: a decision there changes
    a link. -#}
{%- set band = er_setting('er_review_band') -%}
{%- set threshold = er_setting('er_match_probability') -%}

with

scored as (
    select * from {{ ref('int_entity_pairs_scored') }}
),

records as not materialized (
    select
        rid,
        source_id,
        record_id,
        shop_name,
        regency_code
    from {{ ref('int_entity_records') }}
),

parameters as (
    select
        comparison,
        level_number,
        meaning,
        match_weight
    from {{ ref('int_er_parameters') }}
    where parameter = 'level'
),

undecided as (
    select *
    from scored
    where
        steward_label is null
        and match_probability >= {{ band[0] }}
        and match_probability < {{ band[1] }}
),

evidence as (
    select
        undecided.rid_a,
        undecided.rid_b,
        jsonb_object_agg(
            levels.comparison,
            jsonb_build_object(
                'level', levels.level_number,
                'meaning', coalesce(parameters.meaning, 'missing on one side'),
                'weight', round(parameters.match_weight::numeric, 2)
            )
            order by levels.comparison
        ) as evidence
    from undecided
    cross join
        lateral (
            values
            {%- for comparison in er_comparisons() %}
                ('{{ comparison.name }}', undecided.level_{{ comparison.name }})
                {{- "," if not loop.last }}
            {%- endfor %}
        ) as levels (comparison, level_number)
    left join parameters
        on
            levels.comparison = parameters.comparison
            and levels.level_number = parameters.level_number
    group by undecided.rid_a, undecided.rid_b
),

final as (
    select
        a.source_id as source_id_a,
        a.record_id as record_id_a,
        b.source_id as source_id_b,
        b.record_id as record_id_b,
        a.shop_name as shop_name_a,
        b.shop_name as shop_name_b,
        a.regency_code as regency_code_a,
        b.regency_code as regency_code_b,
        undecided.match_probability,
        undecided.match_weight,
        undecided.match_probability >= {{ threshold }} as is_linked_now,
        evidence.evidence,
        row_number() over (
            order by
                abs(undecided.match_probability - {{ threshold }}),
                a.source_id,
                a.record_id,
                b.source_id,
                b.record_id
        ) as review_order
    from undecided
    inner join records as a on undecided.rid_a = a.rid
    inner join records as b on undecided.rid_b = b.rid
    inner join evidence on undecided.rid_a = evidence.rid_a and undecided.rid_b = evidence.rid_b
)

select * from final

{#- The pairs for a steward to decide next: candidate pairs the model is unsure of (match
    probability within er_review_band) that no steward has decided, with the evidence of
    every comparison (the level's meaning and weight) and the two records' business names
    and regions; the records themselves are in raw (`umkm er review` shows them). The pairs
    nearest the link threshold (er_match_probability) come first: a decision there changes
    a link (review_order).

    The queue also holds the audit sample (audit_order): in every stratum of the
    calibration (macro er_stratum: the pair's class by its sources' kinds and a band of
    the model's probability from 0.01 to 0.99, below the review band too), the first
    er_audit_pairs pairs in the order of a hash of the pair, decided or not, interleaved
    stratum by stratum. A random sample is what tells whether the model's probabilities
    hold (int_er_calibration): the review band's pairs are chosen for being near the
    threshold. The order is the same from build to build while the records keep their
    rids (new records get larger ones), so decided pairs keep their place. -#}
{%- set band = er_setting('er_review_band') -%}
{%- set threshold = er_setting('er_match_probability') -%}
{%- set audit_pairs = er_setting('er_audit_pairs') | int -%}

with

scored as not materialized (
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

strata as (
    select
        rid_a,
        rid_b,
        {{ er_stratum('match_probability', 'source_id_a', 'source_id_b') | indent(8) }}
            as stratum
    from scored
    where {{ er_in_calibration_bands('match_probability') }}
),

audit as (
    select
        rid_a,
        rid_b,
        stratum,
        row_number() over (order by rank_in_stratum, stratum) as audit_order
    from (
        select
            rid_a,
            rid_b,
            stratum,
            row_number() over (
                partition by stratum
                order by {{ er_pair_hash('rid_a', 'rid_b', 0) }}, rid_a, rid_b
            ) as rank_in_stratum
        from strata
    ) as ranked
    where rank_in_stratum <= {{ audit_pairs }}
),

unlabelled as (
    select
        scored.*,
        audit.stratum,
        audit.audit_order,
        scored.match_probability >= {{ band[0] }}
        and scored.match_probability < {{ band[1] }} as is_in_review_band
    from scored
    left join audit on scored.rid_a = audit.rid_a and scored.rid_b = audit.rid_b
    where scored.steward_label is null
),

undecided as (
    select *
    from unlabelled
    where is_in_review_band or audit_order is not null
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
        case
            when undecided.is_in_review_band
                then row_number() over (
                    partition by undecided.is_in_review_band
                    order by
                        abs(undecided.match_probability - {{ threshold }}),
                        a.source_id,
                        a.record_id,
                        b.source_id,
                        b.record_id
                )
        end as review_order,
        undecided.stratum as audit_stratum,
        undecided.audit_order
    from undecided
    inner join records as a on undecided.rid_a = a.rid
    inner join records as b on undecided.rid_b = b.rid
    inner join evidence on undecided.rid_a = evidence.rid_a and undecided.rid_b = evidence.rid_b
)

select * from final

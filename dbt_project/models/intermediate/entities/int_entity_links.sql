{#- Parallel workers allowed at zero setup and tuple costs, as in the candidate pairs: the
    scans of pairs and records run in workers (41.0 s against 44.9 s at scale 1.0, the same
    links). -#}
{{ config(**er_session_hooks(er_parallel_settings())) }}
{#- Scored candidate pairs that are links (score >= er_accept_score), each with its
    evidence: which fields agree or conflict, the name similarity (pg_trgm), the score and
    the rule named after the strongest evidence. Weights: macros er_score_without_name and
    er_name_score. -#}
with

pairs as (
    select * from {{ ref('int_entity_candidate_pairs') }}
),

records as not materialized (
    select
        rid,
        source_id,
        name_norm,
        phone_hash,
        email_hash,
        owner_hash,
        nik_hash,
        licence,
        match_region,
        commodity
    from {{ ref('int_entity_records') }}
),

-- Each pair joined to its two records first, with every comparison but the name's. The
-- joins are on the records' key, so this step has as many rows as there are pairs, whatever
-- the planner: nothing here refers to both records before both are joined to the pair (a
-- lateral subquery over both made PostgreSQL 15 pair every record with every record first:
-- 171 billion rows estimated at scale 0.05, docs/PERFORMANCE.md "Plans").
joined as (
    select
        pairs.rid_a,
        pairs.rid_b,
        pairs.blocks,
        a.source_id as source_id_a,
        b.source_id as source_id_b,
        a.name_norm as name_a,
        b.name_norm as name_b,
        a.name_norm = b.name_norm as same_name,
        a.licence is not null and a.licence = b.licence as same_licence,
        a.nik_hash is not null and a.nik_hash = b.nik_hash as same_national_id,
        a.phone_hash is not null and a.phone_hash = b.phone_hash as same_phone,
        a.email_hash is not null and a.email_hash = b.email_hash as same_email,
        a.owner_hash is not null and a.owner_hash = b.owner_hash as same_owner,
        a.match_region is not null and a.match_region = b.match_region as same_regency,
        a.licence <> b.licence or a.nik_hash <> b.nik_hash as conflicting_ids,
        {{ er_score_without_name('a', 'b') }} as score_without_name,
        {{ er_match_rule('a', 'b') }} as match_rule
    from pairs
    inner join records as a on pairs.rid_a = a.rid
    inner join records as b on pairs.rid_b = b.rid
),

-- The name similarity (pg_trgm), once per pair and only for a pair the name can still lift
-- to a link: the others keep a null similarity and a score below the threshold either way.
-- `offset 0` keeps this subquery a step of its own: flattened into the next, the planner
-- would copy the similarity into every use of it in the score.
named as (
    select
        joined.*,
        case
            when
                joined.score_without_name + {{ er_name_weight_max() }}
                >= {{ er_setting('er_accept_score') }}
                then similarity(joined.name_a, joined.name_b)
        end as name_similarity
    from joined
    offset 0  -- noqa: AM09
),

compared as (
    select
        named.*,
        named.score_without_name
        + {{ er_name_score('named.same_name', 'named.name_similarity') }} as score
    from named
),

final as (
    select
        rid_a,
        rid_b,
        source_id_a,
        source_id_b,
        match_rule,
        score,
        score >= {{ er_setting('er_strong_score') }} as is_strong,
        name_similarity,
        same_licence,
        same_national_id,
        same_phone,
        same_email,
        same_owner,
        same_regency,
        coalesce(conflicting_ids, false) as conflicting_ids,
        blocks
    from compared
    where score >= {{ er_setting('er_accept_score') }}
)

select * from final

{#- Matching keys of personal data for entity resolution (issue 19), never the values in
    clear. Both macros need the CTE `pii_key` (macro pii_key_cte) in the FROM clause and take
    an expression computed once per record in an earlier CTE. -#}

{#- The text fields the matcher parses, parsed once per record: a lateral join that makes
    `parsed.name_clean` (public.umkm_clean_name), `parsed.owner_tokens`
    (public.umkm_person_tokens) and `parsed.address_parts` (public.umkm_address_parts).
    Computed as columns of the staging CTE instead, each call was copied into every column
    that reads it (the planner flattens the CTE into the query above): the owner's tokens
    three times, the address twice. `limit 1` (one row either way) keeps this subquery
    whole: the planner does not flatten a subquery with a limit. Registry staging
    at held-out 0.01 (40,208 rows): 8.5 s -> 4.2 s, the same rows. The `noqa` it emits
    allows the limit without an order (AM09) and the subquery, which is per record and so
    cannot be a CTE (ST05); sqlfluff applies it to the line that calls the macro. -#}
{% macro parsed_matching_text(shop_name, owner_name, street) -%}
cross join lateral (
    select
        public.umkm_clean_name({{ shop_name }}) as name_clean,
        public.umkm_person_tokens({{ owner_name }}) as owner_tokens,
        public.umkm_address_parts({{ street }}) as address_parts
    -- one row either way: the limit stops the planner flattening this subquery (macro
    -- parsed_matching_text)
    limit 1  -- noqa: AM09, ST05
) as parsed
{%- endmacro %}

{#- A staging model's first CTE body: the source's raw records (`raw_records`: snapshot,
    record_id, record; `by_version`: version_id and record of the source's raw versions
    instead) with their text fields parsed once (macro parsed_matching_text), those for
    which `where` holds; `shop_name`, `owner_name` and `street` are expressions over
    `raw_records`. -#}
{% macro raw_records_parsed(source_id, shop_name, owner_name, street, where='true',
                            by_version=false) -%}
select
    {% if by_version -%}
    raw_records.version_id,
    {% else -%}
    raw_records.snapshot,
    raw_records.record_id,
    {% endif -%}
    raw_records.record,
    parsed.name_clean,
    parsed.owner_tokens,
    parsed.address_parts
from {{ source(source_id, source_id ~ ('__versions' if by_version else '')) }} as raw_records
{{ parsed_matching_text(shop_name, owner_name, street) }}
where {{ where }}
{%- endmacro %}

{#- An owner's name from its tokens (public.umkm_person_tokens: titles and degrees off):
    the keyed hash of the sorted tokens (owner_hash: word order does not matter), keyed
    64-bit keys of its words of two letters or more (owner_words), and its sorted initials
    (owner_initials, single letters: "RUDI H." and "Rudi Hartono" share {h, r}). -#}
{% macro owner_keys(tokens) -%}
{{ pii_hash('public.umkm_tokens_sorted(' ~ tokens ~ ')', 'person') }} as owner_hash,
public.umkm_token_keys(public.umkm_full_words({{ tokens }}), pii_key.seed) as owner_words,
public.umkm_initials({{ tokens }}) as owner_initials
{%- endmacro %}

{#- A street address from public.umkm_address_parts ({street, number}): a keyed key of the
    street's name (street_key) and of street and house number together (address_key, null
    without a number). -#}
{% macro address_keys(parts) -%}
hashtextextended({{ parts }}[1], pii_key.seed) as street_key,
hashtextextended({{ parts }}[1] || ' no ' || {{ parts }}[2], pii_key.seed) as address_key
{%- endmacro %}

{#- Whether a free-text item of a registry or e-Smart record's platform list ("Tokopedia",
    "tokopedia.com", "Shopee ID") names the marketplace `platform` (a source id): its letters,
    without a trailing web suffix (com, co id, id), equal the id, or are alike enough
    (trigram similarity 0.3 or more) and start with the same two letters. Nicknames that
    share neither (an abbreviation to two letters) are not recognised. -#}
{% macro names_platform(item, platform) -%}
(
    regexp_replace(regexp_replace(lower({{ item }}), '[^a-z]+', '', 'g'), '(coid|com|id)$', '')
    = {{ platform }}
    or (
        left(regexp_replace(lower({{ item }}), '[^a-z]+', '', 'g'), 2) = left({{ platform }}, 2)
        and similarity(
            regexp_replace(regexp_replace(lower({{ item }}), '[^a-z]+', '', 'g'), '(coid|com|id)$', ''),
            {{ platform }}
        ) >= 0.3
    )
)
{%- endmacro %}

{#- Matching keys of personal data for entity resolution (issue 19), never the values in
    clear. Both macros need the CTE `pii_key` (macro pii_key_cte) in the FROM clause and take
    an expression computed once per record in an earlier CTE. -#}

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

{#- Blocking: the pairs of records worth comparing, kept near-linear in the data.

    Every pair of a block of at most er_max_block_size records is a candidate; the
    Fellegi-Sunter model (int_entity_pair_scores) then judges it on every attribute. Blocks:
    - identifiers: same phone key, licence, national-ID key; same e-mail key, or owner key
      within a regency, together with the first or the last word of the name (either word
      of one against either of the other: at scale 1.0 the e-mail and owner blocks alone
      made 84 % of 46.4M pairs, split by the end words 4.7M; docs/PERFORMANCE.md);
    - without identifiers (a business with no phone and no e-mail must still be found):
      the first and the last word of the name, in either order, within a regency
      (name_ends_regency: a typo or a legal form elsewhere in the name does not matter);
      the first or the last word of the name within a regency together with the owner's
      initials (initials_regency: "RUDI H." and "Rudi Hartono" are {h, r} either way); the
      same street and house number within a regency together with an end word of the
      name (address_regency); a word of the owner's name and any word of the shop name
      within a regency (owner_word_regency: the shop name's words reordered and an end
      word misspelt, "Intan Lemari Berseri" / "LEMARI INTAN BERSERI", with the owner
      "Sri Lestari" / "Hj. Sri Lestari"; words of at least three letters, so no initial
      or short word makes a block of everyone; a block above er_max_block_size is
      dropped, not split);
    - a larger block is a shared value (a reseller's phone, a common name word) and is
      split by name within regency: every pair of records with the same normalised name
      and regency in it (name_regency), and, in an identifier block only, a sorted
      neighbourhood (name_neighbour): each record against the next er_window records of
      its regency in the order of its normalised name and of its reversed name (catches a
      typo at either end), so the candidates grow linearly. An oversized weak block is
      split by name alone: its records share a name word and a regency and nothing more,
      and at scale 1.0 (default profile) the neighbours found by no other block were
      22.4M of the 51.0M candidate pairs and made no link (docs/PERFORMANCE.md).
    One row per pair with the blocks that found it. -#}
{#- Parallel workers for the block keys: generating and sorting the 39.2M keys (scale 1.0)
    is most of the model, and while entity resolution runs nothing else uses the second
    core. PostgreSQL's default costs kept the plan serial; at zero setup and tuple costs it
    sorts in two workers and merges (Gather Merge): 106.1 s against 136.7 s for the model
    (scale 1.0, measured back to back). `records` is not materialized so each block reads
    the table itself: a CTE scan cannot run in a worker. -#}
{{ config(**er_session_hooks(er_parallel_settings())) }}
{%- set cap = er_setting('er_max_block_size') | int -%}
{#- A weak block (a name word, the owner's initials or one of the owner's words, within a
    regency) grows with the density of the data: at scale 1.0 a regency holds 17,000
    records on average, and these blocks up to er_max_block_size made 220 million of the
    candidate pairs of 9.0 million records (24 a record, against 0.7 at scale 0.01), too
    many to compare. Above er_max_weak_block_size they are oversized: the name blocks split
    them (the owner's word blocks are dropped), so their pairs grow linearly with the
    records. -#}
{%- set weak_cap = er_setting('er_max_weak_block_size') | int -%}
{%- set window = er_setting('er_window') | int -%}
{#- (block name, 64-bit key, when a record has one, split by the name's first and last
    words); bit i of block_bits is block i, the name refinements take the two bits after
    the identifier blocks. The keys are integers already (staging's keyed keys, macro pii_hash) or one hash
    of a short text: no text is built per record (concatenating the keys as text and
    hashing it: 128 s for this model at scale 1.0, against 122 s without). Columns are
    qualified with `records`: the word blocks join `words` to it. -#}
{%- set first_word = "substring(records.name_norm from '^[^ ]+')" -%}
{%- set last_word = "substring(records.name_norm from '[^ ]+$')" -%}
{%- set identifier_blocks = [
    ('phone', 'records.phone_hash', 'records.phone_hash is not null', false),
    ('email', 'records.email_hash', 'records.email_hash is not null', true),
    ('licence', 'hashtextextended(records.licence, 0)', 'records.licence is not null', false),
    ('national_id', 'records.nik_hash', 'records.nik_hash is not null', false),
    ('owner_regency', 'hashtextextended(records.match_region, records.owner_hash)',
        'records.owner_hash is not null and records.match_region is not null', true),
    ('name_ends_regency',
        "hashtextextended(least(" ~ first_word ~ ", " ~ last_word ~ ")"
            ~ " || ' ' || greatest(" ~ first_word ~ ", " ~ last_word ~ "),"
            ~ " hashtextextended(records.match_region, 0))",
        'records.name_norm is not null and records.match_region is not null', false),
    ('initials_regency',
        "hashtextextended(array_to_string(records.owner_initials, ''),"
            ~ " hashtextextended(records.match_region, 0))",
        'records.owner_initials is not null and records.match_region is not null', true),
    ('address_regency', 'hashtextextended(records.match_region, records.address_key)',
        'records.address_key is not null and records.match_region is not null', true),
] -%}
{%- set block_names = identifier_blocks | map(attribute=0) | list
    + ['owner_word_regency', 'name_regency', 'name_neighbour'] -%}
{%- set owner_word_bit = 2 ** (identifier_blocks | length) -%}
{%- set name_bit = 2 ** (identifier_blocks | length + 1) -%}
{%- set neighbour_bit = 2 ** (identifier_blocks | length + 2) -%}
{%- set weak_bits = [2 ** (block_names.index('name_ends_regency')),
    2 ** (block_names.index('initials_regency')), owner_word_bit] -%}
{%- set block_cap = 'case when blocks.block_bit in (' ~ (weak_bits | join(', ')) ~ ') then '
    ~ weak_cap ~ ' else ' ~ cap ~ ' end' -%}

with

records as not materialized (
    select
        rid,
        phone_hash,
        email_hash,
        licence,
        nik_hash,
        owner_hash,
        owner_initials,
        owner_words,
        address_key,
        match_region,
        name_norm
    from {{ ref('int_entity_records') }}
),

-- Each block is one bit, so a pair found by several blocks is grouped on two integers
-- with bit_or, and the block values are compared as 64-bit keys (short sort keys). Two
-- different values keyed alike (odds about 2e-6 at scale 1.0) only add a candidate pair,
-- which the scoring in int_entity_links judges on all the fields. A word block's key is
-- the hash of the word seeded with the identifier's key.
block_keys as (
    {%- for name, key, present, by_word in identifier_blocks %}
        {%- if by_word %}
            select
                records.rid,
                {{ 2 ** loop.index0 }} as block_bit,
                hashtextextended(words.word, {{ key }}) as block_key
            from records
            cross join
                lateral (
                    values
                    (substring(records.name_norm from '^[^ ]+')),
                    (nullif(substring(records.name_norm from '[^ ]+$'), records.name_norm))
                ) as words (word)
            where
                {{ present }}
                and words.word is not null
        {%- else %}
            select
                records.rid,
                {{ 2 ** loop.index0 }} as block_bit,
                {{ key }} as block_key
            from records
            where {{ present }}
        {%- endif %}
        union all
    {%- endfor %}
    select
        records.rid,
        {{ owner_word_bit }} as block_bit,
        hashtextextended(
            words.word, hashtextextended(records.match_region, owner_word.word_key)
        ) as block_key
    from records
    cross join lateral unnest(records.owner_words) as owner_word (word_key)
    -- unnest of an array is planned at a few rows a call (regexp_split_to_table at 1,000:
    -- the plan guard failed it); a word twice in a name only repeats the record in a block
    cross join lateral unnest(string_to_array(records.name_norm, ' ')) as words (word)
    where
        records.match_region is not null
        and owner_word.word_key is not null
        and length(words.word) >= 3
),

blocks as (
    select
        block_bit,
        block_key,
        array_agg(rid order by rid) as rids
    from block_keys
    group by block_bit, block_key
    having count(*) >= 2
),

-- the records of the oversized blocks, with their names: the identifier blocks (few) and
-- the weak name-word blocks (many at scale 1.0); name_blocks splits both, and only the
-- identifier blocks get name neighbours (`sorted`)
oversized as (
    select
        blocks.block_bit,
        blocks.block_key,
        named.rid,
        named.name_norm,
        named.match_region
    from blocks
    cross join lateral unnest(blocks.rids) as member (rid)
    inner join {{ ref('int_entity_records') }} as named on member.rid = named.rid
    where
        cardinality(blocks.rids) > {{ block_cap }}
        -- an owner's word with a shop name's word in many records is no identifier: no
        -- neighbours within it (they were 97 % of all pairs at scale 0.01)
        and blocks.block_bit <> {{ owner_word_bit }}
        and named.name_norm is not null
        and named.match_region is not null
),

name_blocks as (
    select array_agg(rid order by rid) as rids
    from oversized
    group by block_bit, block_key, match_region, name_norm
    having count(*) between 2 and {{ cap }}
),

-- every block small enough to pair all its records: identifier blocks up to the cap, and
-- the name blocks that split the larger ones
small_blocks as (
    select
        blocks.block_bit,
        blocks.rids
    from blocks
    where cardinality(blocks.rids) <= {{ block_cap }}
    union all
    select
        {{ name_bit }} as block_bit,
        rids
    from name_blocks
),

-- every pair (i < j) of a small block: each record but the last against the records after
-- it. unnest is planned at a few rows a call, near the truth (a block holds at most
-- er_max_block_size records, mostly two); generate_series was planned at 1,000 rows a
-- call, 240 million pairs for a world of 4,470 records, and a plan that believes that
-- can sort or spill what it need not (tests/warehouse/test_plans.py)
block_pairs as (
    select
        firsts.rid as rid_a,
        seconds.rid as rid_b,
        small_blocks.block_bit
    from small_blocks
    cross join
        lateral unnest(
            small_blocks.rids[1:cardinality(small_blocks.rids) - 1]
        ) with ordinality as firsts (rid, position)
    cross join
        lateral unnest(
            small_blocks.rids[firsts.position + 1:cardinality(small_blocks.rids)]
        ) as seconds (rid)
    -- a name with a repeated word (jaya jaya) puts its record twice in a word block
    where firsts.rid <> seconds.rid
),

sorted as (
    select
        {%- for i in range(1, window + 1) %}
            lead(rid, {{ i }}) over by_name as next_{{ i }},
            lead(rid, {{ i }}) over by_reversed as rnext_{{ i }},
        {%- endfor %}
        rid
    from oversized
    -- an identifier block's neighbours only: a weak block is split by the name alone
    where block_bit not in ({{ weak_bits | join(', ') }})
    window
        by_name as (
            partition by block_bit, block_key, match_region order by name_norm, rid
        ),
        by_reversed as (
            partition by block_bit, block_key, match_region
            order by reverse(name_norm), rid
        )
),

neighbour_pairs as (
    select
        least(sorted.rid, neighbour.other_rid) as rid_a,
        greatest(sorted.rid, neighbour.other_rid) as rid_b,
        {{ neighbour_bit }} as block_bit
    from sorted
    cross join
        lateral (
            values
            {%- for i in range(1, window + 1) %}
                (sorted.next_{{ i }}), (sorted.rnext_{{ i }}){{ "," if not loop.last }}
            {%- endfor %}
        ) as neighbour (other_rid)
    where neighbour.other_rid <> sorted.rid
),

all_pairs as (
    select * from block_pairs
    union all
    select * from neighbour_pairs
),

grouped as (
    select
        rid_a,
        rid_b,
        bit_or(block_bit) as block_bits
    from all_pairs
    group by rid_a, rid_b
),

final as (
    select
        rid_a,
        rid_b,
        concat_ws(
            ',',
            {%- for name in block_names %}
                case when block_bits & {{ 2 ** loop.index0 }} > 0 then '{{ name }}' end
                {{- "," if not loop.last }}
            {%- endfor %}
        ) as blocks
    from grouped
    -- stored in pair order, not in the hash order of `grouped`: a later hash aggregate over
    -- rows arriving in hash order (the unique test) degrades to minutes
    order by rid_a, rid_b
)

select * from final

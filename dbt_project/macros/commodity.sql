{#- Commodity from the meaning of a category text, for any marketplace's categories and for
    the e-Smart list's `Komoditas` (docs/ANALYSTS.md, "Commodities"). Keywords come from the seed
    `commodity_keywords` (Indonesian and English words and phrases of one or two words,
    each with one of the nine e-Smart IKM commodities, `Lainnya` for goods outside them, or
    no commodity for a generic word such as "perlengkapan" or "wanita").

    CTEs for a staging model, computed once per distinct text of `relation` (as
    `resolved_places` resolves each city spelling once): join back with
    `left join category_commodities on <category> = category_commodities.category_text`.

    The text: accents off, lower case, apostrophes dropped ("Women's" -> "womens"),
    breadcrumb separators (`>`, `»`, `›`, `|`, `\`) split it into segments, every other run
    of non-alphanumerics ("&", "/", ",", "-") separates words.
    A word's keyword: the word itself, else the first of its cheap stripped forms
    (English plural -s / -es, Indonesian -an, -nya) that is a keyword (exact, score 1);
    else, for a word of 5+ letters, the single-word keyword of 5+ letters most similar to it
    (pg_trgm similarity >= var `commodity_min_similarity`; the score). A fuzzy match that
    lands on a generic word names nothing: "peralatn" is "peralatan", not "perawatan".
    Two adjacent words that make a phrase keyword ("kerajinan tangan", "rumah tangga")
    match it, and its words then count only through the phrase.

    The rule, among the matches that name a commodity:
      1. the last breadcrumb segment with a match decides (the most specific);
      2. the higher score (exact before fuzzy);
      3. one of the nine before `Lainnya` ("Health & Beauty" is Kosmetik, "Makanan Bayi"
         Makanan: the other word qualifies the market);
      4. the earlier word (Indonesian names the head first: "Makanan & Minuman" is Makanan,
         "Minuman Kemasan" Minuman);
      5. the commodity's name.
    A text none of whose words names a commodity stays null (`mart_unmapped_categories`). -#}
{% macro commodity_of_categories(relation, category) -%}
category_texts as (
    select distinct {{ category }} as category_text
    from {{ relation }}
    where {{ category }} is not null
),

-- the text's tokens: its words and a `>` between breadcrumb segments (one unnest per text,
-- not one per segment: the planner's guess of 10 rows an unnest stays 10 rows a text)
category_tokens as (
    select
        texts.category_text,
        tokens.position,
        tokens.token
    from category_texts as texts
    cross join lateral unnest(
        regexp_split_to_array(
            btrim(regexp_replace(regexp_replace(regexp_replace(
                lower(public.unaccent('public.unaccent'::regdictionary, texts.category_text)),
                '[''`´’]', '', 'g'),
                '[>»›|\\]+', ' > ', 'g'),
                '[^a-z0-9>]+', ' ', 'g')),
            ' '
        )
    ) with ordinality as tokens (token, position)
),

-- words with their segment (segment_depth: 1 + the `>` before them) and the token after them
category_words as (
    select
        category_text,
        segment_depth,
        position,
        word,
        next_word
    from (
        select
            category_text,
            position,
            token as word,
            1 + count(*) filter (where token = '>') over (
                partition by category_text order by position
            ) as segment_depth,
            lead(token) over (partition by category_text order by position) as next_word
        from category_tokens
    ) as tokens
    where word not in ('>', '')
),

category_keywords as (
    select
        keyword,
        nullif(commodity, '') as commodity
    from {{ ref('commodity_keywords') }}
),

category_vocabulary as (
    select distinct word
    from category_words
),

category_word_forms as (
    select
        vocabulary.word,
        forms.form,
        forms.form_rank
    from category_vocabulary as vocabulary
    cross join lateral unnest(array[
        vocabulary.word,
        -- plural -s (not -ss), plural -es, Indonesian -an and -nya
        case
            when length(vocabulary.word) >= 4 and vocabulary.word ~ '[^s]s$'
                then left(vocabulary.word, -1)
        end,
        case
            when length(vocabulary.word) >= 5 and vocabulary.word ~ 'es$'
                then left(vocabulary.word, -2)
        end,
        case
            when length(vocabulary.word) >= 6 and vocabulary.word ~ 'an$'
                then left(vocabulary.word, -2)
        end,
        case
            when length(vocabulary.word) >= 6 and vocabulary.word ~ 'nya$'
                then left(vocabulary.word, -3)
        end
    ]) with ordinality as forms (form, form_rank)
    where forms.form is not null
),

category_exact_words as (
    select distinct on (forms.word)
        forms.word,
        keywords.commodity,
        1.0::float8 as score
    from category_word_forms as forms
    inner join category_keywords as keywords on forms.form = keywords.keyword
    order by forms.word asc, forms.form_rank asc
),

category_fuzzy_words as (
    select distinct on (vocabulary.word)
        vocabulary.word,
        keywords.commodity,
        similarity(vocabulary.word, keywords.keyword)::float8 as score
    from category_vocabulary as vocabulary
    inner join category_keywords as keywords
        on
            similarity(vocabulary.word, keywords.keyword)
            >= {{ var('commodity_min_similarity') }}
    where
        length(vocabulary.word) >= 5
        and length(keywords.keyword) >= 5
        and strpos(keywords.keyword, ' ') = 0
        and not exists (
            select from category_exact_words as exact
            where exact.word = vocabulary.word
        )
    order by vocabulary.word asc, score desc, keywords.keyword asc
),

category_word_matches as (
    select
        word,
        commodity,
        score
    from category_exact_words
    union all
    select
        word,
        commodity,
        score
    from category_fuzzy_words
),

category_phrase_matches as (
    select
        words.category_text,
        words.segment_depth,
        words.position,
        keywords.commodity
    from category_words as words
    inner join category_keywords as keywords
        on words.word || ' ' || words.next_word = keywords.keyword
    where words.next_word is not null
),

category_matches as (
    select
        words.category_text,
        words.segment_depth,
        words.position,
        matches.commodity,
        matches.score
    from category_words as words
    inner join category_word_matches as matches on words.word = matches.word
    where not exists (
        select from category_phrase_matches as phrases
        where
            phrases.category_text = words.category_text
            and phrases.segment_depth = words.segment_depth
            and phrases.position in (words.position, words.position - 1)
    )
    union all
    select
        category_text,
        segment_depth,
        position,
        commodity,
        1.0::float8 as score
    from category_phrase_matches
),

category_commodities as (
    select distinct on (category_text)
        category_text,
        commodity
    from category_matches
    where commodity is not null
    order by
        category_text asc,
        segment_depth desc,
        score desc,
        commodity = 'Lainnya' asc,
        position asc,
        commodity asc
)
{%- endmacro %}

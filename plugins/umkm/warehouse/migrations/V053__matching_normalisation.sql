-- Normalisation for entity resolution on every attribute the contract gives (issue 19).
--
-- Business names: legal forms and shop-type words are dropped at either end, abbreviated or
-- spelled out ("UD Sinar Abadi", "Sinar Abadi, Usaha Dagang", "Tk. Sinar Abadi"), so the
-- name compares on what is left; umkm_legal_form_from_clean finds the form at either end.
--
-- Owner names (umkm_person_tokens): honorifics before the name (H., Hj., Haji, Dr., Ir.,
-- Ibu, Bapak...) and academic degrees after it (S.E., S.Kom., M.M., after a comma or not)
-- are dropped; what is left is a list of lower-case tokens in written order, initials
-- included ("RUDI H." -> {rudi, h}). Staging turns them into keyed matching keys, never
-- stored in clear: the sorted full name, each word; and the initials (single letters).
--
-- Street addresses (umkm_address_parts): `Jl.`/`Jln.`/`Jalan`, `No.`/`Nomor`, `Gg.`/`Gang`
-- spelled alike; RT/RW and Kel./Kec./Desa parts dropped; the street name and the house
-- number apart ({street, number}).
--
-- Keys: umkm_pii_seed() is a 64-bit number derived from the pseudonymisation key (setting
-- umkm.pii_key), so the word keys of one warehouse cannot be recomputed from
-- names by someone without the key. Like any deterministic encoding they still show which
-- values repeat: they live in staging and intermediate, which the analyst role cannot read
-- (the transformer role that reads them also reads raw's clear text).
--
-- All plain SQL, immutable or stable, parallel safe; PostgreSQL 15 and 18 alike.

-- Business names -------------------------------------------------------------------------

-- The words a business name may carry around its name proper: legal forms and shop types,
-- abbreviated (with the dots already turned into spaces by umkm_clean_name) or spelled out.
create or replace function public.umkm_name_affix_pattern()
returns text
language sql immutable parallel safe
as $$
    select '(ud|u d|usaha dagang|pd|p d|perusahaan dagang|cv|c v|commanditaire vennootschap|'
        || 'persekutuan komanditer|pt|p t|perseroan terbatas|tbk|persero|fa|firma|'
        || 'koperasi|kop|kud|toko|tk|warung|wr|wrg|kios)'
$$;

-- Name for matching from a cleaned name (' ' || words || ' '): the affixes dropped at the
-- start and at the end, repeatedly ("Toko CV ..."); a name that is nothing but affixes
-- keeps its words.
create or replace function public.umkm_name_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select nullif(btrim(coalesce(
        nullif(btrim(regexp_replace(regexp_replace(cleaned,
            '^ (' || public.umkm_name_affix_pattern() || ' )+', ' '),
            ' (' || public.umkm_name_affix_pattern() || ' )+$', ' ')), ''),
        cleaned)), '')
$$;

create or replace function public.umkm_legal_form_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select case coalesce(
        substring(cleaned from '^ (' || public.umkm_name_affix_pattern() || ') '),
        substring(cleaned from ' (' || public.umkm_name_affix_pattern() || ') $'))
        when 'pt' then 'PT' when 'p t' then 'PT' when 'perseroan terbatas' then 'PT'
        when 'tbk' then 'PT' when 'persero' then 'PT'
        when 'cv' then 'CV' when 'c v' then 'CV' when 'commanditaire vennootschap' then 'CV'
        when 'persekutuan komanditer' then 'CV'
        when 'ud' then 'UD' when 'u d' then 'UD' when 'usaha dagang' then 'UD'
        when 'pd' then 'UD' when 'p d' then 'UD' when 'perusahaan dagang' then 'UD'
        when 'fa' then 'Firma' when 'firma' then 'Firma'
        when 'koperasi' then 'Koperasi' when 'kop' then 'Koperasi' when 'kud' then 'Koperasi'
        when 'toko' then 'Toko' when 'tk' then 'Toko'
        when 'warung' then 'Warung' when 'wr' then 'Warung' when 'wrg' then 'Warung'
        when 'kios' then 'Kios'
    end
$$;

-- Owner names ----------------------------------------------------------------------------

-- Titles written before a name: religious (pilgrimage), academic, professional, address.
create or replace function public.umkm_person_title_pattern()
returns text
language sql immutable parallel safe
as $$
    select '(h|hj|haji|hajah|hajjah|kh|ust|ustad|ustadz|ustadzah|dr|drs|dra|ir|prof|'
        || 'ibu|bu|bapak|bpk|pak|sdr|sdri|saudara|saudari|tuan|tn|nyonya|ny|nona|nn)'
$$;

-- Degrees written after a name (Indonesian gelar, with or without dots).
create or replace function public.umkm_person_degree_pattern()
returns text
language sql immutable parallel safe
as $$
    select '(se|sh|st|sp|spd|skom|ssi|ssos|sag|sip|sked|sfarm|ssn|stp|sikom|sak|sth|spsi|'
        || 'amd|amk|mm|mh|mt|msi|mpd|mkom|mba|ma|msc|phd|lc|dipl|ak|cpa)'
$$;

-- Tokens of a person's name, in written order: accents off, lower case; what follows the
-- first comma dropped when it holds only degrees ("Budi Santoso, S.E., M.M."); titles at
-- the start and degrees at the end dropped, as long as a word is left; single letters
-- (initials) kept as tokens. Regular expressions only (no per-word subqueries): staging
-- calls it once for every record.
create or replace function public.umkm_person_tokens(name text)
returns text[]
language sql stable parallel safe
as $$
    with lowered as (
        select lower(public.unaccent('public.unaccent'::regdictionary, coalesce(name, ''))) as s
    ),
    -- "a, s.e., m.m." -> "a" when everything after the comma is short degree-like words;
    -- dotted degrees glued ("s.kom." -> "skom") before the dots become spaces
    spaced as (
        select ' ' || btrim(regexp_replace(regexp_replace(
            case
                when s ~ ',' and regexp_replace(substring(s from ',(.*)$'), '[^a-z]+', ' ', 'g')
                    ~ ('^ *(' || public.umkm_person_degree_pattern() || '|[a-z]{1,2})'
                        || '( +(' || public.umkm_person_degree_pattern() || '|[a-z]{1,2}))* *$')
                    then substring(s from '^([^,]*),')
                else s
            end,
            '\m([sma])\.(e|h|t|p|pd|kom|si|sos|ag|ip|ked|farm|sn|tp|ikom|ak|th|psi|'
                || 'm|ba|a|sc|md|mk)\.?\M',
            '\1\2', 'g'),
            '[^a-z0-9]+', ' ', 'g')) || ' ' as s
        from lowered
    ),
    stripped as (
        select coalesce(
            nullif(btrim(regexp_replace(regexp_replace(s,
                '^ (' || public.umkm_person_title_pattern() || ' )+', ' '),
                ' (' || public.umkm_person_degree_pattern() || ' )+$', ' ')), ''),
            nullif(btrim(s), '')
        ) as s
        from spaced
    )
    select string_to_array(s, ' ') from stripped
$$;

-- Street addresses -----------------------------------------------------------------------

-- {street, number} of a street address: the street's name words (after `jl`, without the
-- RT/RW, Kel./Kec./Desa parts, city words after a comma), and the house number (digits and
-- a letter: 12, 12a). Null street when nothing is left.
create or replace function public.umkm_address_parts(address text)
returns text[]
language sql stable parallel safe
as $$
    with lowered as (
        select ' ' || lower(public.unaccent('public.unaccent'::regdictionary,
            coalesce(address, ''))) || ' ' as s
    ),
    cut as (
        select regexp_replace(regexp_replace(regexp_replace(s,
            -- administrative parts, to the next comma or the end
            '[ ,.(](rt|rw|kel|kelurahan|desa|ds|kec|kecamatan|kab|kabupaten|kota|kodya|prov|'
                || 'provinsi|kode pos|kodepos)[ .:]+[^,]*', ' ', 'g'),
            '[ ,]\d{5}[ ,]', ' ', 'g'),  -- a postal code
            ',.*$', ' ') as s  -- what follows the first comma left (city, province)
        from lowered
    ),
    spelled as (
        select ' ' || btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            regexp_replace(cut.s, '[^a-z0-9]+', ' ', 'g'),
            ' (jalan|jln|jl|jl n) ', ' jl ', 'g'),
            ' (gang|gg) ', ' gg ', 'g'),
            ' (nomor|nomer|nmr|no) ', ' no ', 'g'),
            ' (komplek|kompleks|komp|perumahan|perum) ', ' komp ', 'g')) || ' ' as s
        from cut
    ),
    numbered as (
        select
            spelled.s,
            coalesce(
                substring(spelled.s from ' no ([0-9]+[a-z]?) '),
                substring(spelled.s from ' ([0-9]+[a-z]?) ')
            ) as number
        from spelled
    )
    select array[
        nullif(btrim(regexp_replace(regexp_replace(numbered.s,
            ' no [0-9]+[a-z]? .*$| [0-9]+[a-z]? .*$', ' '),
            ' (jl|gg|komp|no|blok|blk) ', ' ', 'g')), ''),
        numbered.number
    ]
    from numbered
$$;

-- Keys -----------------------------------------------------------------------------------

-- A 64-bit seed derived from the pseudonymisation key (setting umkm.pii_key).
create or replace function public.umkm_pii_seed()
returns bigint
language sql stable parallel safe
as $$
    select ('x' || left(public.umkm_hmac_padded('matching-seed', p.ipad, p.opad), 16))
        ::bit(64)::bigint
    from public.umkm_pii_pads() as p
$$;

-- Keyed 64-bit keys of a list of tokens, distinct and sorted (for containment tests).
create or replace function public.umkm_token_keys(tokens text[], seed bigint)
returns bigint[]
language sql immutable parallel safe
as $$
    select case when tokens is not null then array(
        select distinct hashtextextended(t, seed) from unnest(tokens) as t order by 1
    ) end
$$;

-- A person's tokens for keys: all of them sorted and joined (word order does not matter),
-- the full words (two letters or more), and the sorted initials of every word.
create or replace function public.umkm_tokens_sorted(tokens text[])
returns text
language sql immutable parallel safe
as $$
    select case when tokens is not null then
        array_to_string(array(select t from unnest(tokens) as t order by t), ' ')
    end
$$;

create or replace function public.umkm_full_words(tokens text[])
returns text[]
language sql immutable parallel safe
as $$
    select case when tokens is not null then
        array(select t from unnest(tokens) as t where length(t) > 1)
    end
$$;

create or replace function public.umkm_initials(tokens text[])
returns text[]
language sql immutable parallel safe
as $$
    select case when tokens is not null then
        array(select left(t, 1) from unnest(tokens) as t order by 1)
    end
$$;

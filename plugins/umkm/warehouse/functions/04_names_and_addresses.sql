-- Shop names, legal forms, owners' names and addresses as the matcher compares them.
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes; the migrations that first defined them are history).

-- One cleaning pass shared by the name and the legal form (staging calls it once per
-- record): accents off (unaccent), lower case, every run of other characters (emoji,
-- punctuation) -> one space, padded with a space on each side.
create or replace function public.umkm_clean_name(name text)
returns text
language sql stable parallel safe
as $$
    select ' ' || btrim(regexp_replace(
        lower(public.unaccent('public.unaccent'::regdictionary, coalesce(name, ''))),
        '[^a-z0-9]+', ' ', 'g')) || ' '
$$;

create or replace function public.umkm_normalise_name(name text)
returns text
language sql stable parallel safe
as $$
    select public.umkm_name_from_clean(public.umkm_clean_name(name))
$$;

create or replace function public.umkm_legal_form(name text)
returns text
language sql stable parallel safe
as $$
    select public.umkm_legal_form_from_clean(public.umkm_clean_name(name))
$$;

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

-- every affix of the pattern, as an array
create or replace function public.umkm_name_affixes()
returns text[]
language sql immutable parallel safe
as $$
    select array_agg(affix)
    from regexp_split_to_table(btrim(public.umkm_name_affix_pattern(), '()'), '\|') as affix
$$;

-- The first and the last words of the affixes: a name whose first (last) word is none of
-- them has no affix at that end, so the regular expression is not run on it. An
-- alternation this long costs about 20 us a call whatever the input (PostgreSQL builds its
-- automaton's states per call); nine names in ten end in no affix. Same answers: the word
-- test is a necessary condition of each expression's match.
create or replace function public.umkm_name_affix_first_words()
returns text[]
language sql immutable parallel safe
as $$
    select array_agg(distinct split_part(affix, ' ', 1))
    from unnest(public.umkm_name_affixes()) as affix
$$;

create or replace function public.umkm_name_affix_last_words()
returns text[]
language sql immutable parallel safe
as $$
    select array_agg(distinct split_part(affix, ' ', -1))
    from unnest(public.umkm_name_affixes()) as affix
$$;

-- cleaned name without its leading affixes (' ud toko sinar ' -> ' sinar ')
create or replace function public.umkm_name_without_prefix(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select case
        when split_part(btrim(cleaned), ' ', 1) = any(public.umkm_name_affix_first_words())
            then regexp_replace(cleaned, '^ (' || public.umkm_name_affix_pattern() || ' )+', ' ')
        else cleaned
    end
$$;

-- cleaned name without its trailing affixes (' sinar abadi usaha dagang ' -> ' sinar abadi ')
create or replace function public.umkm_name_without_suffix(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select case
        when split_part(btrim(cleaned), ' ', -1) = any(public.umkm_name_affix_last_words())
            then regexp_replace(cleaned, ' (' || public.umkm_name_affix_pattern() || ' )+$', ' ')
        else cleaned
    end
$$;

-- Name for matching from a cleaned name (' ' || words || ' '): the affixes dropped at the
-- start and at the end, repeatedly ("Toko CV ..."); a name that is nothing but affixes
-- keeps its words.
create or replace function public.umkm_name_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select nullif(btrim(coalesce(
        nullif(btrim(public.umkm_name_without_suffix(public.umkm_name_without_prefix(cleaned))), ''),
        cleaned)), '')
$$;

create or replace function public.umkm_legal_form_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    -- the affix at the start, else at the end, found by words instead of a regular
    -- expression (umkm_clean_name writes ' w1 w2 ... wn ': split on ' ', word 2 is the first
    -- and word -2 the last); an affix has one or two words, the longer one tried first
    select case coalesce(
        case
            when split_part(cleaned, ' ', 2) || ' ' || split_part(cleaned, ' ', 3)
                = any(public.umkm_name_affixes())
                then split_part(cleaned, ' ', 2) || ' ' || split_part(cleaned, ' ', 3)
            when split_part(cleaned, ' ', 2) = any(public.umkm_name_affixes())
                then split_part(cleaned, ' ', 2)
        end,
        case
            when split_part(cleaned, ' ', -3) || ' ' || split_part(cleaned, ' ', -2)
                = any(public.umkm_name_affixes())
                then split_part(cleaned, ' ', -3) || ' ' || split_part(cleaned, ' ', -2)
            when split_part(cleaned, ' ', -2) = any(public.umkm_name_affixes())
                then split_part(cleaned, ' ', -2)
        end)
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

create or replace function public.umkm_person_tokens(name text)
returns text[]
language plpgsql stable parallel safe
as $$
declare
    s text;
    degree constant text := public.umkm_person_degree_pattern();
    title constant text := public.umkm_person_title_pattern();
begin
    s := lower(public.unaccent('public.unaccent'::regdictionary, coalesce(name, '')));
    -- "a, s.e., m.m." -> "a" when everything after the comma is short degree-like words
    if s ~ ',' and regexp_replace(substring(s from ',(.*)$'), '[^a-z]+', ' ', 'g')
            ~ ('^ *(' || degree || '|[a-z]{1,2})( +(' || degree || '|[a-z]{1,2}))* *$') then
        s := substring(s from '^([^,]*),');
    end if;
    -- dotted degrees glued ("s.kom." -> "skom") before the dots become spaces
    s := ' ' || btrim(regexp_replace(regexp_replace(s,
            '\m([sma])\.(e|h|t|p|pd|kom|si|sos|ag|ip|ked|farm|sn|tp|ikom|ak|th|psi|'
                || 'm|ba|a|sc|md|mk)\.?\M',
            '\1\2', 'g'),
            '[^a-z0-9]+', ' ', 'g')) || ' ';
    return string_to_array(coalesce(
        nullif(btrim(regexp_replace(regexp_replace(s,
            '^ (' || title || ' )+', ' '),
            ' (' || degree || ' )+$', ' ')), ''),
        nullif(btrim(s), '')), ' ');
end
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

create or replace function public.umkm_address_parts(address text)
returns text[]
language plpgsql stable parallel safe
as $$
declare
    s text;
    house text;
begin
    s := ' ' || lower(public.unaccent('public.unaccent'::regdictionary, coalesce(address, '')))
        || ' ';
    s := regexp_replace(regexp_replace(regexp_replace(s,
            -- administrative parts, to the next comma or the end
            '[ ,.(](rt|rw|kel|kelurahan|desa|ds|kec|kecamatan|kab|kabupaten|kota|kodya|prov|'
                || 'provinsi|kode pos|kodepos)[ .:]+[^,]*', ' ', 'g'),
            '[ ,]\d{5}[ ,]', ' ', 'g'),  -- a postal code
            ',.*$', ' ');  -- what follows the first comma left (city, province)
    s := ' ' || btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            regexp_replace(s, '[^a-z0-9]+', ' ', 'g'),
            ' (jalan|jln|jl|jl n) ', ' jl ', 'g'),
            ' (gang|gg) ', ' gg ', 'g'),
            ' (nomor|nomer|nmr|no) ', ' no ', 'g'),
            ' (komplek|kompleks|komp|perumahan|perum) ', ' komp ', 'g')) || ' ';
    house := coalesce(
        substring(s from ' no ([0-9]+[a-z]?) '),
        substring(s from ' ([0-9]+[a-z]?) '));
    return array[
        nullif(btrim(regexp_replace(regexp_replace(s,
            ' no [0-9]+[a-z]? .*$| [0-9]+[a-z]? .*$', ' '),
            ' (jl|gg|komp|no|blok|blk) ', ' ', 'g')), ''),
        house];
end
$$;

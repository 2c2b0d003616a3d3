-- Short forms of regency names resolve by rule, not by a list (issue 19).
--
-- Sellers write regency names the way Indonesians do: "Kep. Aru" (Kabupaten Kepulauan Aru),
-- "Tj. Pinang", "P. Siantar", "50 Kota" (Lima Puluh Kota), "Pangkep" (Pangkajene dan
-- Kepulauan), "Tobasa" (Toba Samosir), "Kotabaru". None of these is a typo, so the typo
-- search (similarity, edit distance) found nothing and validation quarantined the record as
-- an unknown regency. Three rules, each derived from the BPS names themselves (no word list):
--
-- 1. numbers: a number written in digits is read as its Indonesian words (1 to 999), then
--    the name is looked up (and typo-searched) again: "50 kota" -> "lima puluh kota".
-- 2. abbreviated words: a name of two or more words whose words are, one for one and in
--    order, each the BPS word or an abbreviation of it (its first letter, then some of its
--    other letters in order: kep < kepulauan, tj < tanjung, p < pematang), at least one
--    word of three or more letters written out in full.
-- 3. syllable acronyms: one word of five or more letters made of the start of each word of a
--    BPS name of two or more words, in order ("dan" may be left out): pangk|kep, toba|sa,
--    kota|baru.
--
-- A rule answers only when exactly one regency fits: within the province when the seller
-- gave one and a regency of that province fits, else nationally; and a kota or a kabupaten
-- only when the seller wrote that word. Otherwise the spelling stays unresolved (quarantined,
-- for an alias and a replay) as before. The rules run only where the exact keys and the typo
-- search found nothing, and each spelling is searched once (remembered).
--
-- Remembered misses are forgotten here, so spellings the rules now answer are searched again
-- (`umkm quarantine replay` publishes the rows they held back).

create or replace function public.umkm_number_words(n int)
returns text
language sql immutable parallel safe
as $$
    -- Indonesian number words for 1..999 (null outside)
    with ones (d, w) as (
        values (1, 'satu'), (2, 'dua'), (3, 'tiga'), (4, 'empat'), (5, 'lima'), (6, 'enam'),
            (7, 'tujuh'), (8, 'delapan'), (9, 'sembilan')
    ),
    parts as (
        select
            n / 100 as h,
            n % 100 / 10 as t,
            n % 10 as u
    )
    select case when n between 1 and 999 then btrim(concat_ws(' ',
        case when h = 1 then 'seratus'
            when h > 1 then (select w from ones where d = h) || ' ratus' end,
        case when t = 1 and u = 0 then 'sepuluh'
            when t = 1 and u = 1 then 'sebelas'
            when t = 1 then (select w from ones where d = u) || ' belas'
            when t > 1 then (select w from ones where d = t) || ' puluh' end,
        case when t <> 1 and u > 0 then (select w from ones where d = u) end
    )) end
    from parts
$$;

comment on function public.umkm_number_words(int) is
    'Indonesian words for 1..999 ("lima puluh" for 50); null outside that range.';

create or replace function public.umkm_regency_short_form(c text, pkey text)
returns text
language plpgsql stable
as $$
declare
    prefix text := coalesce(substring(c from '^(kota|kabupaten) '), '');
    bare text := regexp_replace(c, '^(kota|kabupaten) ', '');
    p text;
    codes text[];
begin
    if bare is null or bare = '' then
        return null;
    end if;
    select l.regency_code into p from public.umkm_region_lookup as l where l.key = 'p:' || pkey;
    with names as (
        select
            l.regency_code as code,
            left(l.regency_code, 2) as province_code,
            coalesce(substring(l.name from '^(kota|kabupaten) '), '') as name_prefix,
            array_remove(
                string_to_array(regexp_replace(l.name, '^(kota|kabupaten) ', ''), ' '), 'dan'
            ) as words
        from public.umkm_region_lookup as l
        where l.kind = 'regency' and l.key = 'r:' || l.name || '|'
    ),
    patterns as (
        select
            names.code,
            names.province_code,
            names.name_prefix,
            names.words,
            -- one word: the start of each name word, in order
            '^' || (
                select string_agg(
                    left(w.word, 1) || (
                        select coalesce(string_agg('(?:' || ch.ch, '' order by ch.i), '')
                        from unnest(string_to_array(substr(w.word, 2), null))
                            with ordinality as ch (ch, i)
                    ) || repeat(')?', length(w.word) - 1),
                    '' order by w.i
                )
                from unnest(names.words) with ordinality as w (word, i)
            ) || '$' as acronym
        from names
        where cardinality(names.words) >= 2
    ),
    fits as (
        select patterns.code, patterns.province_code
        from patterns
        where (prefix = '' or patterns.name_prefix = btrim(prefix))
            and (
                -- syllable acronym
                (bare !~ ' ' and length(bare) >= 5 and bare ~ patterns.acronym)
                -- abbreviated words, one for one
                or (
                    cardinality(string_to_array(bare, ' ')) = cardinality(patterns.words)
                    and not exists (
                        select 1
                        from unnest(string_to_array(bare, ' '), patterns.words) as z (typed, word)
                        where not (
                            z.typed = z.word
                            or (
                                length(z.typed) < length(z.word)
                                and z.typed ~ (
                                    '^' || left(z.word, 1) || (
                                        select coalesce(string_agg(ch.ch || '?', '' order by ch.i), '')
                                        from unnest(string_to_array(substr(z.word, 2), null))
                                            with ordinality as ch (ch, i)
                                    ) || '$'
                                )
                            )
                        )
                    )
                    and exists (
                        select 1
                        from unnest(string_to_array(bare, ' '), patterns.words) as z (typed, word)
                        where z.typed = z.word and length(z.word) >= 3
                    )
                )
            )
    )
    select
        coalesce(
            array_agg(distinct fits.code) filter (where fits.province_code = p),
            array_agg(distinct fits.code)
        ) into codes
    from fits;
    if cardinality(codes) = 1 then
        return codes[1];
    end if;
    return null;
end
$$;

comment on function public.umkm_regency_short_form(text, text) is
    'A normalised city key written as a short form of a BPS regency name (abbreviated words, '
    'a syllable acronym) -> its regency code when exactly one regency fits; else null.';

-- The slow path of umkm_regency_code (V051), with the numbers read as words first and the
-- short forms tried where the typo search found nothing.
create or replace function public.umkm_regency_code_search(c text, pkey text)
returns text
language plpgsql volatile
as $$
declare
    p text;
    r text;
    bare text := regexp_replace(c, '^(kota|kabupaten) ', '');
    prefix text := coalesce(substring(c from '^(kota |kabupaten )'), '');
    m text;
    worded text;
begin
    if c is null then
        return null;
    end if;
    -- empty, or built before any BPS regency was loaded: (re)build it now
    if not exists (select 1 from public.umkm_region_lookup as l where l.kind = 'regency')
        and (
            not exists (select 1 from public.umkm_region_lookup)
            or (to_regclass('raw.bps') is not null and exists (select 1 from raw.bps))
        ) then
        if public.umkm_refresh_region_lookup() = 0 then
            return null;
        end if;
        select l.regency_code into r from public.umkm_region_lookup as l
        where l.key in ('r:' || c || '|' || pkey, 'r:' || c || '|')
        order by l.key = 'r:' || c || '|' || pkey desc
        limit 1;
        if r is not null then
            return r;
        end if;
    end if;
    select l.regency_code into r from public.umkm_region_lookup as l
    where l.key = 'r:' || c || '|' || pkey and l.kind = 'remembered';
    if found then
        return r;
    end if;
    select l.regency_code into p from public.umkm_region_lookup as l where l.key = 'p:' || pkey;
    -- numbers in digits read as words: the exact keys, then the whole search, on that
    select string_agg(
        coalesce(
            case when w.word ~ '^[0-9]{1,3}$' then public.umkm_number_words(w.word::int) end,
            w.word
        ),
        ' ' order by w.i
    ) into worded
    from unnest(string_to_array(c, ' ')) with ordinality as w (word, i);
    if worded is distinct from c then
        select l.regency_code into r from public.umkm_region_lookup as l
        where l.key in ('r:' || worded || '|' || pkey, 'r:' || worded || '|')
        order by l.key = 'r:' || worded || '|' || pkey desc
        limit 1;
        if r is null then
            r := public.umkm_regency_code_search(worded, pkey);
        end if;
    else
        select k.name into m
        from public.umkm_region_lookup as k
        where k.kind in ('bare', 'alias')
            and k.key like '%|'
            and (similarity(k.name, bare) >= 0.5
                or (length(bare) >= 5 and levenshtein(k.name, bare) <= 1)
                or (length(bare) >= 6 and levenshtein(k.name, bare) <= 2))
        order by k.province_code is not distinct from p desc, levenshtein(k.name, bare),
            similarity(k.name, bare) desc, k.name
        limit 1;
        if m is not null then
            select l.regency_code into r
            from public.umkm_region_lookup as l
            where l.key in (
                'r:' || prefix || m || '|' || pkey, 'r:' || prefix || m || '|',
                'r:' || m || '|' || pkey, 'r:' || m || '|'
            )
            order by l.key = 'r:' || prefix || m || '|' || pkey desc,
                l.key = 'r:' || prefix || m || '|' desc,
                l.key = 'r:' || m || '|' || pkey desc
            limit 1;
        end if;
        if r is null then
            r := public.umkm_regency_short_form(c, pkey);
        end if;
    end if;
    begin
        perform pg_advisory_xact_lock(80000000612);
        insert into public.umkm_region_lookup (key, regency_code, name, province_code, kind)
        values ('r:' || c || '|' || pkey, r, c, p, 'remembered')
        on conflict (key) do nothing;
    exception when others then
        null;  -- e.g. a read-only transaction: answer without remembering
    end;
    return r;
end
$$;

-- spellings remembered as unresolved are searched again with the new rules
delete from public.umkm_region_lookup
where kind = 'remembered' and regency_code is null;

-- Normalisation functions shared by validation (Great Expectations suites, before dbt runs)
-- and by the dbt staging models (issue 6). Plain SQL and PL/pgSQL only: runs on the
-- embedded PostgreSQL 18 and on PostgreSQL 15, needs no pgcrypto.
--
--   umkm_phone_e164(text)            Indonesian phone number -> '+62...' or null
--   umkm_normalise_city(text)        free-text city -> canonical key ('kota bandung',
--                                    'kabupaten bandung' or a bare 'bandung')
--   umkm_normalise_province(text)    free-text province -> canonical key
--   umkm_regency_code(city, prov)    free-text city (+ province) -> 4-digit BPS regency code
--   umkm_regency_code_lookup(c, p)   the same from the lookup only (read-only, parallel safe)
--   umkm_region_aliases              hand-kept aliases (abbreviations, old names)
--   umkm_province_aliases            hand-kept province abbreviations (Jabar, DIY, ...)
--   umkm_region_lookup               every key -> regency code, rebuilt from the latest raw.bps
--                                    snapshot + aliases by umkm_refresh_region_lookup()
--   umkm_normalise_name(text)        business name for matching (= umkm_name_from_clean(
--                                    umkm_clean_name(text)); staging cleans once for both)
--   umkm_legal_form(text)            legal form found in a business name (Toko, UD, CV, PT, ...)
--   umkm_hmac(value, key)            HMAC-SHA256 (RFC 2104) on the built-in sha256(), hex
--   umkm_hmac_pads(key)              the two padded keys, computed once per query
--   umkm_hmac_padded(value, ip, op)  HMAC from precomputed pads (the fast path of staging)
--   umkm_pii_pads()                  pads of the key in setting `umkm.pii_key` (never in SQL text)
--
-- Regency resolution rule for a bare name that exists both as a kabupaten and as a kota
-- ("Bandung", "Bogor", "Malang", ...): the KOTA. A seller who writes only the name most
-- often means the city; "Kab. Bandung" resolves to the kabupaten. The province, when given
-- and recognised, is used first (a bare name unique within the province resolves there,
-- e.g. "Banjar" + "Kalimantan Selatan" -> KABUPATEN BANJAR); without it the bare name
-- resolves nationally to the one candidate left by the rule above, or to the one kota among
-- several provinces' candidates ("Banjar" -> KOTA BANJAR; + "Kalsel" -> KABUPATEN BANJAR).
-- Unique district (kecamatan) names resolve to their regency as a last exact step
-- ("Kebayoran Baru" -> KOTA JAKARTA SELATAN), then a trigram nearest-neighbour catches
-- typos (similarity >= 0.5, or edit distance 1 for names of 5+ letters, 2 for 6+).

create extension if not exists pg_trgm;
create extension if not exists fuzzystrmatch;
create extension if not exists unaccent;

-- Phones ---------------------------------------------------------------------------------

create or replace function public.umkm_phone_e164(phone text)
returns text
language sql immutable parallel safe
as $$
    -- digits only; drop the country code (0062, 62) or the trunk 0, and a '(0)' after +62;
    -- then a mobile number (8xx, 9-12 digits) or a landline (area code + number)
    select '+62' || substring(
        regexp_replace(regexp_replace(
            regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'),
            '^(0062|62|0)', ''), '^0', '')
        from '^(8[1-9][0-9]{6,10}|[2-79][1-9][0-9]{5,9})$'
    )
$$;

-- Cities and provinces -------------------------------------------------------------------

create or replace function public.umkm_normalise_city(city text)
returns text
language sql stable parallel safe
as $$
    select nullif(btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        ' ' || btrim(regexp_replace(
            lower(public.unaccent('public.unaccent'::regdictionary, coalesce(city, ''))),
            '[^a-z0-9]+', ' ', 'g')) || ' ',
        -- suffix form 'Bandung (Kab.)' -> prefix form
        '^ (.+) (kab|kabupaten) $', ' kabupaten \1 '),
        '^ (kabupaten administrasi|kabupaten|kabupatan|kab adm|kab|kbp) ', ' kabupaten '),
        '^ (kota administrasi|kota adm|kotamadya|kota madya|kodya|kota|kt) ', ' kota '),
        ' (jkt|dki) ', ' jakarta ', 'g')), '')
$$;

create or replace function public.umkm_normalise_province(province text)
returns text
language sql immutable parallel safe
as $$
    select nullif(btrim(regexp_replace(regexp_replace(
        ' ' || btrim(regexp_replace(lower(coalesce(province, '')), '[^a-z0-9]+', ' ', 'g')) || ' ',
        '^ (provinsi|propinsi|prov|prop) ', ' '),
        '^ (kep|kepulauan) ', ' kepulauan ')), '')
$$;

create table if not exists public.umkm_region_aliases (
    alias text primary key,
    regency_code text not null
);
comment on table public.umkm_region_aliases is
    'Hand-kept city aliases (abbreviations, old names, Jakarta shorthands) -> BPS regency code. '
    'Aliases are stored as typed; umkm_refresh_region_lookup() normalises them.';

insert into public.umkm_region_aliases (alias, regency_code) values
    ('jakarta', '3173'),            -- bare "Jakarta": Jakarta Pusat (documented choice)
    ('jakarta pusat', '3173'), ('jakpus', '3173'), ('jak pus', '3173'), ('jakarta pst', '3173'),
    ('jakarta selatan', '3171'), ('jaksel', '3171'), ('jak sel', '3171'), ('jakarta sel', '3171'),
    ('jakarta timur', '3172'), ('jaktim', '3172'), ('jak tim', '3172'), ('jakarta tim', '3172'),
    ('jakarta barat', '3174'), ('jakbar', '3174'), ('jak bar', '3174'), ('jakarta brt', '3174'),
    ('jakarta utara', '3175'), ('jakut', '3175'), ('jak ut', '3175'), ('jakarta utr', '3175'),
    ('kepulauan seribu', '3101'), ('kep seribu', '3101'), ('pulau seribu', '3101'),
    ('jogja', '3471'), ('jogjakarta', '3471'), ('yogya', '3471'), ('djokjakarta', '3471'),
    ('yogyakarta', '3471'), ('yk', '3471'), ('jogya', '3471'),
    ('solo', '3372'), ('surakarta', '3372'),
    ('ujung pandang', '7371'), ('ujungpandang', '7371'), ('mks', '7371'),
    ('sby', '3578'), ('surabaya', '3578'),
    ('bdg', '3273'), ('smg', '3374'), ('mdn', '1275'), ('plg', '1671'), ('dps', '5171'),
    ('bgr', '3271'), ('bks', '3275'), ('tng', '3671'), ('mlg', '3573'),
    ('tangsel', '3674'), ('tangerang sel', '3674'),
    ('bandar lampung', '1871'), ('tanjung karang', '1871'), ('tanjungkarang', '1871'),
    ('pekanbaru', '1471'), ('pakanbaru', '1471'),
    ('batam', '2171'), ('kota batam', '2171'), ('dumai', '1473'), ('kota dumai', '1473'),
    ('baubau', '7472'), ('bau bau', '7472'),
    ('tolitoli', '7206'), ('toli toli', '7206')
on conflict (alias) do nothing;

create table if not exists public.umkm_province_aliases (
    alias text primary key,
    province_code text not null
);
comment on table public.umkm_province_aliases is
    'Hand-kept province abbreviations and old names -> BPS province code.';

insert into public.umkm_province_aliases (alias, province_code) values
    ('nad', '11'), ('nanggroe aceh darussalam', '11'), ('sumut', '12'), ('sumbar', '13'),
    ('sumsel', '16'), ('babel', '19'), ('bangka belitung', '19'), ('kepri', '21'),
    ('dki', '31'), ('jakarta', '31'), ('dki jakarta', '31'), ('jabar', '32'), ('jateng', '33'),
    ('diy', '34'), ('yogyakarta', '34'), ('daerah istimewa yogyakarta', '34'),
    ('jogja', '34'), ('jatim', '35'), ('ntb', '52'), ('ntt', '53'), ('kalbar', '61'),
    ('kalteng', '62'), ('kalsel', '63'), ('kaltim', '64'), ('kaltara', '65'),
    ('sulut', '71'), ('sulteng', '72'), ('sulsel', '73'), ('sultra', '74'), ('sulbar', '76'),
    ('malut', '82'), ('irian jaya barat', '91'), ('irian jaya', '94')
on conflict (alias) do nothing;

-- key: 'r:<city key>|' (national) or 'r:<city key>|<province key>' (within a province, one
-- key per spelling of the province: its BPS name, its code and its aliases) -> regency code.
-- One index probe answers the common case. Kind 'remembered': a spelling answered by the
-- typo search (regency_code null: no match), so each distinct spelling is searched once.
create table if not exists public.umkm_region_lookup (
    key text primary key,
    regency_code text,
    name text,
    province_code text,
    kind text
);
comment on table public.umkm_region_lookup is
    'Region keys -> BPS regency codes, rebuilt from the latest raw.bps snapshot and the aliases '
    'by umkm_refresh_region_lookup(); the fast path of umkm_regency_code().';

create or replace function public.umkm_refresh_region_lookup()
returns bigint
language plpgsql volatile
as $$
declare
    n_keys bigint;
    has_bps boolean;
begin
    perform pg_advisory_xact_lock(80000000611);
    has_bps := to_regclass('raw.bps') is not null;
    create temporary table if not exists umkm_region_keys (
        name text, regency_code text, province_code text, scope text, kind text, prio int
    ) on commit drop;
    truncate umkm_region_keys;
    create temporary table if not exists umkm_province_keys (
        pkey text, province_code text
    ) on commit drop;
    truncate umkm_province_keys;

    -- regencies of the latest snapshot: full names, and bare names (the kota when a
    -- province has both a kabupaten and a kota of that name)
    if has_bps then
    insert into umkm_region_keys
    with latest as (
        select b.record
        from raw.bps as b
        where b.snapshot = (select max(b2.snapshot) from raw.bps as b2)
            and b.record ->> 'level' = 'regency'
    ),
    named as (
        select
            btrim(record ->> 'code') as code,
            left(btrim(record ->> 'code'), 2) as province_code,
            public.umkm_normalise_city(record ->> 'name') as full_key,
            regexp_replace(public.umkm_normalise_city(record ->> 'name'), '^(kota|kabupaten) ', '')
                as bare_key,
            public.umkm_normalise_city(record ->> 'name') like 'kota %' as is_kota
        from latest
    ),
    bare_prov as (
        select distinct on (bare_key, province_code)
            bare_key, province_code, code, is_kota,
            count(*) over (partition by bare_key, province_code) as n_same,
            count(*) filter (where is_kota) over (partition by bare_key, province_code) as n_kota
        from named
        order by bare_key, province_code, is_kota desc, code
    ),
    bare_ok as (
        select * from bare_prov where n_same = 1 or n_kota = 1
    ),
    bare_nat as (  -- one candidate nationally, or exactly one kota among them
        select bare_key, coalesce(min(code) filter (where count_all = 1),
            min(code) filter (where is_kota and count_kota = 1)) as code
        from (
            select *, count(*) over (partition by bare_key) as count_all,
                count(*) filter (where is_kota) over (partition by bare_key) as count_kota
            from bare_ok
        ) as counted
        group by bare_key
    )
    select full_key, code, province_code, 'national', 'regency', 1 from named
    union all
    select full_key, code, province_code, 'province', 'regency', 1 from named
    union all
    select bare_key, code, province_code, 'province', 'bare', 2 from bare_ok
    union all
    select bare_key, code, left(code, 2), 'national', 'bare', 2 from bare_nat;
    end if;

    -- aliases (an official name wins over an alias)
    insert into umkm_region_keys
    select public.umkm_normalise_city(a.alias), a.regency_code, left(a.regency_code, 2), s.scope,
        'alias', 3
    from public.umkm_region_aliases as a
    cross join (values ('national'), ('province')) as s (scope)
    where public.umkm_normalise_city(a.alias) is not null;

    -- districts (kecamatan) whose name points to one regency
    if has_bps then
    insert into umkm_region_keys
    with district as (
        select
            public.umkm_normalise_city(b.record ->> 'name') as dkey,
            btrim(b.record ->> 'parent_code') as code
        from raw.bps as b
        where b.snapshot = (select max(b2.snapshot) from raw.bps as b2)
            and b.record ->> 'level' = 'district'
    )
    select dkey, min(code), left(min(code), 2), 'province', 'district', 4
    from district
    where dkey not in (select k.name from umkm_region_keys as k where k.name is not null)
    group by dkey, left(code, 2)
    having count(distinct code) = 1
    union all
    select dkey, min(code), left(min(code), 2), 'national', 'district', 4
    from district
    where dkey not in (select k.name from umkm_region_keys as k where k.name is not null)
    group by dkey
    having count(distinct code) = 1;
    end if;

    -- spellings of each province: BPS name, code, aliases
    if has_bps then
        insert into umkm_province_keys
        select public.umkm_normalise_province(b.record ->> 'name'), btrim(b.record ->> 'code')
        from raw.bps as b
        where b.snapshot = (select max(b2.snapshot) from raw.bps as b2)
            and b.record ->> 'level' = 'province';
    end if;
    insert into umkm_province_keys
    select public.umkm_normalise_province(a.alias), a.province_code
    from public.umkm_province_aliases as a
    union all
    select distinct province_code, province_code from umkm_region_keys;

    delete from public.umkm_region_lookup;
    insert into public.umkm_region_lookup (key, regency_code, name, province_code, kind)
    select distinct on (key) key, regency_code, name, province_code, kind
    from (
        select 'r:' || k.name || '|' as key, k.regency_code, k.name, k.province_code, k.kind,
            k.prio
        from umkm_region_keys as k
        where k.scope = 'national'
        union all
        select 'r:' || k.name || '|' || p.pkey, k.regency_code, k.name, k.province_code, k.kind,
            k.prio
        from umkm_region_keys as k
        inner join (select distinct pkey, province_code from umkm_province_keys) as p
            on k.province_code = p.province_code
        where k.scope = 'province' and p.pkey is not null
        union all
        select 'p:' || p.pkey, p.province_code, p.pkey, p.province_code, 'province', 1
        from umkm_province_keys as p
        where p.pkey is not null
    ) as all_keys
    where key is not null and regency_code is not null
    order by key, prio, regency_code;
    get diagnostics n_keys = row_count;
    analyze public.umkm_region_lookup;
    return n_keys;
end
$$;

-- The slow path of umkm_regency_code: fill an empty lookup, then look for typos. The
-- most similar bare regency name or alias (preferring the province when it is known) is
-- taken, with the kabupaten/kota prefix the seller wrote; the answer (or the miss) is
-- remembered in the lookup.
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
    begin
        insert into public.umkm_region_lookup (key, regency_code, name, province_code, kind)
        values ('r:' || c || '|' || pkey, r, c, p, 'remembered')
        on conflict (key) do nothing;
    exception when others then
        null;  -- e.g. a read-only transaction: answer without remembering
    end;
    return r;
end
$$;

-- Free-text city (+ province) -> 4-digit BPS regency code, or null. Each distinct spelling
-- (lower-cased city|province as typed) is resolved once and remembered under 'm:<spelling>',
-- so a validation pass over 500k rows costs one index probe per row.
create or replace function public.umkm_regency_code_resolve(city text, province text)
returns text
language sql volatile
as $$
    select case when s.c is not null then coalesce(
        (select l.regency_code from public.umkm_region_lookup as l
         where l.key = 'r:' || s.c || '|' || s.pkey and s.pkey <> ''),
        (select l.regency_code from public.umkm_region_lookup as l
         where l.key = 'r:' || s.c || '|'),
        public.umkm_regency_code_search(s.c, s.pkey)
    ) end
    from (
        select
            public.umkm_normalise_city(city) as c,
            coalesce(public.umkm_normalise_province(province), '') as pkey
    ) as s
$$;

-- The read-only, parallel-safe variant for bulk use (dbt staging): the remembered answer of
-- the spelling, else the exact keys; never searches for typos and never writes.
-- Validation (or umkm_regency_code) remembers every spelling it sees first.
create or replace function public.umkm_regency_code_lookup(city text, province text)
returns text
language sql stable parallel safe
as $$
    select case when city is not null then coalesce(
        (select l.regency_code from public.umkm_region_lookup as l
         where l.key = 'm:' || lower(city) || '|' || lower(coalesce(province, ''))),
        (select l.regency_code from public.umkm_region_lookup as l
         where l.key = 'r:' || public.umkm_normalise_city(city) || '|'
             || coalesce(public.umkm_normalise_province(province), '')
             and province is not null),
        (select l.regency_code from public.umkm_region_lookup as l
         where l.key = 'r:' || public.umkm_normalise_city(city) || '|')
    ) end
$$;

create or replace function public.umkm_regency_code(city text, province text)
returns text
language plpgsql volatile
as $$
declare
    spelling text := 'm:' || lower(coalesce(city, '')) || '|' || lower(coalesce(province, ''));
    r text;
begin
    if city is null then
        return null;
    end if;
    select l.regency_code into r from public.umkm_region_lookup as l where l.key = spelling;
    if found then
        return r;
    end if;
    r := public.umkm_regency_code_resolve(city, province);
    -- remember only answers given with the BPS reference loaded
    if exists (select 1 from public.umkm_region_lookup as l where l.kind = 'regency') then
        begin
            insert into public.umkm_region_lookup (key, regency_code, name, province_code, kind)
            values (spelling, r, null, left(r, 2), 'remembered')
            on conflict (key) do nothing;
        exception when others then
            null;  -- e.g. a read-only transaction: answer without remembering
        end;
    end if;
    return r;
end
$$;

-- Business names -------------------------------------------------------------------------

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

-- Name for matching from a cleaned name: legal-form prefixes (repeated: "Toko CV ...") and
-- suffixes dropped.
create or replace function public.umkm_name_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select nullif(btrim(regexp_replace(regexp_replace(cleaned,
        '^ ((toko|tk|ud|u d|cv|c v|pt|p t|koperasi|kop|usaha dagang) )+', ' '),
        ' (tbk|cv|c v|ud|u d|pt|p t) $', ' ')), '')
$$;

create or replace function public.umkm_legal_form_from_clean(cleaned text)
returns text
language sql immutable parallel safe
as $$
    select case coalesce(
        substring(cleaned from '^ (pt|p t|cv|c v|ud|u d|usaha dagang|koperasi|kop|toko|tk) '),
        substring(cleaned from ' (pt|p t|tbk|cv|c v|ud|u d) $'))
        when 'pt' then 'PT' when 'p t' then 'PT' when 'tbk' then 'PT'
        when 'cv' then 'CV' when 'c v' then 'CV'
        when 'ud' then 'UD' when 'u d' then 'UD' when 'usaha dagang' then 'UD'
        when 'koperasi' then 'Koperasi' when 'kop' then 'Koperasi'
        when 'toko' then 'Toko' when 'tk' then 'Toko'
    end
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

-- Keyed hashes (HMAC-SHA256, RFC 2104, block size 64) -------------------------------------

create or replace function public.umkm_hmac_pads(key text, out ipad bytea, out opad bytea)
language sql immutable parallel safe
as $$
    with k0 as (
        select case
            when octet_length(convert_to(key, 'UTF8')) > 64 then sha256(convert_to(key, 'UTF8'))
            else convert_to(key, 'UTF8')
        end as k
    ),
    padded as (
        select k || decode(repeat('00', 64 - octet_length(k)), 'hex') as k from k0
    )
    select
        decode(string_agg(lpad(to_hex(get_byte(padded.k, i) # 54), 2, '0'), '' order by i), 'hex'),
        decode(string_agg(lpad(to_hex(get_byte(padded.k, i) # 92), 2, '0'), '' order by i), 'hex')
    from padded cross join generate_series(0, 63) as i
$$;

create or replace function public.umkm_hmac_padded(value text, ipad bytea, opad bytea)
returns text
language sql immutable parallel safe
as $$
    select encode(sha256(opad || sha256(ipad || convert_to(value, 'UTF8'))), 'hex')
$$;

create or replace function public.umkm_hmac(value text, key text)
returns text
language sql immutable parallel safe
as $$
    select public.umkm_hmac_padded(value, p.ipad, p.opad) from public.umkm_hmac_pads(key) as p
$$;

-- The pseudonymisation key comes from the session setting `umkm.pii_key` (dbt's environment
-- passes it with PGOPTIONS), so it never appears in compiled SQL or logs.
create or replace function public.umkm_pii_pads(out ipad bytea, out opad bytea)
language plpgsql stable parallel safe
as $$
declare
    k text := current_setting('umkm.pii_key', true);
begin
    if k is null or k = '' then
        raise exception 'setting umkm.pii_key is not set: run dbt through umkm.transform.dbt '
            '(it passes UMKM_PII_KEY with PGOPTIONS)';
    end if;
    select p.ipad, p.opad into ipad, opad from public.umkm_hmac_pads(k) as p;
end
$$;

-- A new or changed alias takes effect at once: the lookup (and every remembered answer) is
-- rebuilt, so quarantined records can be replayed after an alias is added.
create or replace function public.umkm_aliases_changed()
returns trigger
language plpgsql
as $$
begin
    perform public.umkm_refresh_region_lookup();
    return null;
end
$$;

drop trigger if exists umkm_region_aliases_changed on public.umkm_region_aliases;
create trigger umkm_region_aliases_changed
after insert or update or delete or truncate on public.umkm_region_aliases
for each statement execute function public.umkm_aliases_changed();

drop trigger if exists umkm_province_aliases_changed on public.umkm_province_aliases;
create trigger umkm_province_aliases_changed
after insert or update or delete or truncate on public.umkm_province_aliases
for each statement execute function public.umkm_aliases_changed();

-- Aliases work from the start (before any BPS reference is loaded).
select public.umkm_refresh_region_lookup();

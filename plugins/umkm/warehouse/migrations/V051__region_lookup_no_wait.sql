-- Remembering region spellings cannot deadlock (issue 8).
--
-- umkm_regency_code and umkm_regency_code_search remember each answer in
-- umkm_region_lookup with `insert ... on conflict (key) do nothing`. Such an insert waits
-- while another open transaction holds an uncommitted row of the same key, so two
-- transactions meeting the same new spellings in different orders deadlocked: two
-- validations side by side (as the DAGs and the benchmark run them), or two staging
-- pre-hooks. The exception block caught the deadlock error, so nothing failed, but each
-- such row cost deadlock_timeout (1 s): in `bench_pipeline.py --scale 0.01` the
-- validations of tokopedia and bukalapak were still going after 10 minutes, each waiting
-- on the other's transaction id in pg_locks.
--
-- Now a transaction takes one advisory lock (80000000612, held to its end) before it
-- writes a remembered spelling. Only the holder has uncommitted remembered rows, so no one
-- waits on anyone but the holder, and the holder waits on no one: no cycle. Validation
-- remembers a batch's distinct spellings first in a short statement of its own
-- (validation.suites.remember_regions_sql), and dbt staging does in its pre-hook
-- (remember_regencies), so the lock is held for seconds and the long statements after it
-- only read the lookup. The answers do not change.

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
            perform pg_advisory_xact_lock(80000000612);
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

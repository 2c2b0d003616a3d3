-- Validation and alerting support (issue 5).
--
-- audit.alerts_sent: one row per alert that was delivered (or logged), keyed by its dedupe
-- key (e.g. `task_failure:<dag>:<run>:<task>`), so a retried or repeated failure of the same
-- run does not send the same message twice.
--
-- Safe parsers for the validation suites: a cast that fails raises in PostgreSQL and would
-- abort the whole check; these return null instead ("does not parse").

create table if not exists audit.alerts_sent (
    dedupe_key text primary key,
    title text not null,
    level text not null,
    channels text not null,
    sent_at timestamptz not null default now()
);

create or replace function public.umkm_try_timestamptz(value text)
returns timestamptz
language plpgsql stable parallel safe
as $$
begin
    if value is null or btrim(value) = '' then
        return null;
    end if;
    return value::timestamptz;
exception when others then
    return null;
end
$$;

create or replace function public.umkm_try_date(value text, format text)
returns date
language plpgsql immutable parallel safe
as $$
declare
    parsed date;
begin
    if value is null or btrim(value) = '' then
        return null;
    end if;
    parsed := to_date(btrim(value), format);
    -- to_date is lenient (31/02 rolls over on some versions): insist on a round trip
    if to_char(parsed, format) <> btrim(value) then
        return null;
    end if;
    return parsed;
exception when others then
    return null;
end
$$;

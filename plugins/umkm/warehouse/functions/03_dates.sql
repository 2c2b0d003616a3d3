-- Dates and timestamps as the feeds write them -> date / timestamptz, null for blank or
-- invalid input (never an error).
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes; the migrations that first defined them are history).
--
-- umkm_try_date_any is the general parser: to_date with the format, insisting on a round
-- trip (to_date is lenient: 31/02 rolls over on some versions). Its exception block opens a
-- subtransaction on every call, so it is parallel unsafe (V021: a parallel worker cannot
-- start one) and slow (300,000 ISO timestamps: 0.99 s against 0.23 s, V050).
-- On PostgreSQL 16 and newer, umkm_try_timestamptz and umkm_try_date take the formats the
-- feeds use without an exception block (pg_input_is_valid), and umkm_try_date hands any
-- other format to umkm_try_date_any (which is why it stays parallel unsafe). PostgreSQL 15
-- has no pg_input_is_valid: there both are the general parsers.

create or replace function public.umkm_try_date_any(value text, format text)
returns date
language plpgsql immutable parallel unsafe
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

do $versioned$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $sql$
            create or replace function public.umkm_try_timestamptz(value text)
            returns timestamptz
            language sql stable parallel safe
            as $fn$
                select case when pg_input_is_valid(value, 'timestamptz') then value::timestamptz end
            $fn$
        $sql$;

        execute $sql$
            create or replace function public.umkm_try_date(value text, format text)
            returns date
            language sql stable parallel unsafe
            as $fn$
                select case
                    when format = 'YYYY-MM-DD' then case
                        when btrim(value) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                            and pg_input_is_valid(btrim(value), 'date')
                            then btrim(value)::date
                    end
                    when format = 'DD/MM/YYYY' then case
                        when btrim(value) ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$'
                            and pg_input_is_valid(
                                substr(btrim(value), 7, 4) || '-' || substr(btrim(value), 4, 2)
                                || '-' || substr(btrim(value), 1, 2),
                                'date'
                            )
                            then (
                                substr(btrim(value), 7, 4) || '-' || substr(btrim(value), 4, 2)
                                || '-' || substr(btrim(value), 1, 2)
                            )::date
                    end
                    else public.umkm_try_date_any(value, format)
                end
            $fn$
        $sql$;
    else
        execute $sql$
            create or replace function public.umkm_try_timestamptz(value text)
            returns timestamptz
            language plpgsql stable parallel unsafe
            as $fn$
            begin
                if value is null or btrim(value) = '' then
                    return null;
                end if;
                return value::timestamptz;
            exception when others then
                return null;
            end
            $fn$
        $sql$;

        -- the general parser itself (umkm_try_date_any above)
        execute $sql$
            create or replace function public.umkm_try_date(value text, format text)
            returns date
            language sql immutable parallel unsafe
            as $fn$
                select public.umkm_try_date_any(value, format)
            $fn$
        $sql$;
    end if;
end
$versioned$;

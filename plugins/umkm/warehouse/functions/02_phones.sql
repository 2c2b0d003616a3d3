-- Phone numbers in every format -> E.164.
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes; the migrations that first defined them are history).

create or replace function public.umkm_phone_e164(phone text)
returns text
language sql immutable parallel safe
as $$
    select '+62' || substring(
        regexp_replace(regexp_replace(
            regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'),
            '^(0062|62|0)', ''), '^0', '')
        from '^(8[1-9][0-9]{6,10}|[2-79][0-9]{6,10})$'
    )
$$;

-- Landline area codes may have 0 as their second digit: Kendari is (0401), Timika (0901).
-- V010's rule rejected them, so validation quarantined valid Sulawesi and Papua landlines.
-- Same rule otherwise: a mobile number (8xx, 9-12 digits) or a landline (area code 2-7 or 9,
-- then 6-10 more digits).

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

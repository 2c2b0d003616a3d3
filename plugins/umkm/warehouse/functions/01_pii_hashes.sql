-- Pseudonymisation: HMAC-SHA256 of personal values under the session key, the 64-bit keys
-- staging keeps of them, and 64-bit keys of tokens for matching.
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes; the migrations that first defined them are history).

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

-- stable, not immutable: convert_to() is stable, so an immutable wrapper was never inlined
-- (300,000 phone hashes: 1.09 s as a call, 0.53 s inlined; V050)
create or replace function public.umkm_hmac_padded(value text, ipad bytea, opad bytea)
returns text
language sql stable parallel safe
as $$
    select encode(sha256(opad || sha256(ipad || convert_to(value, 'UTF8'))), 'hex')
$$;

-- The keyed 64-bit key staging stores for a personal value (macro pii_hash): the first 8
-- bytes of its HMAC, as a bigint. Entity resolution compares these keys for equality only,
-- and a bigint is 8 bytes in a row where the HMAC in hex was 65 (three or four per staged
-- record: about a third of a staged registry row). Two different values share a key with
-- probability 2^-64 per pair: over 10 million values about 3 in a million for any collision.
-- The key is the same number the matching key of the hex HMAC was before (its first 16 hex
-- digits), so matching is unchanged.
create or replace function public.umkm_hmac_key(value text, ipad bytea, opad bytea)
returns bigint
language sql stable parallel safe
as $$
    select ('x' || left(public.umkm_hmac_padded(value, ipad, opad), 16))::bit(64)::bigint
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

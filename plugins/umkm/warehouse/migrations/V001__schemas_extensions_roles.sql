-- Schemas by layer, the extensions the models need, and the three warehouse roles.
-- Roles are NOLOGIN groups: real logins are granted membership (see README, analysts).

create extension if not exists pg_trgm;
create extension if not exists fuzzystrmatch;

create schema if not exists raw;
create schema if not exists audit;
create schema if not exists quarantine;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;

do $$
declare
    r text;
begin
    foreach r in array array['umkm_loader', 'umkm_transformer', 'umkm_analyst'] loop
        begin
            execute format('create role %I nologin', r);
        exception when duplicate_object or unique_violation then
            null;  -- roles are cluster-wide: another database may have created it
        end;
    end loop;
end
$$;

-- Personal data lands in raw and quarantine: the loader writes it, the transformer reads it
-- to pseudonymise it in staging; analysts never see it.
revoke all on schema raw, audit, quarantine, staging, intermediate from public;

grant usage, create on schema raw, audit, quarantine to umkm_loader;
grant usage on schema raw, audit to umkm_transformer;
grant usage, create on schema staging, intermediate, marts to umkm_transformer;
grant usage on schema marts to umkm_analyst;

alter default privileges in schema raw grant select on tables to umkm_transformer;
alter default privileges in schema audit grant select on tables to umkm_transformer;
alter default privileges in schema marts grant select on tables to umkm_analyst;

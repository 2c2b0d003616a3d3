-- Analysts read `marts` and nothing else (V001 already keeps them out of raw, audit,
-- quarantine, staging and intermediate, and grants select on future marts tables created by
-- the role that ran the bootstrap).
--
-- What V001 does not cover: marts tables created by another role. dbt rebuilds every mart
-- table on each run, and a table gets the default privileges of the role that *creates* it.
-- Two layers keep the analyst's access whatever role dbt connects as:
--   1. every mart model of the reconciliation, population, counts and history folders sets
--      dbt's `grants: {select: [umkm_analyst]}` (re-applied by dbt after each rebuild);
--   2. here: default privileges for tables created by umkm_transformer itself (dbt with
--      `role: umkm_transformer` in its profile), plus a grant on the tables already there.
-- Idempotent; a bootstrap role that may not alter umkm_transformer's defaults skips step 2.

grant usage on schema marts to umkm_analyst;
grant select on all tables in schema marts to umkm_analyst;

do $$
begin
    execute 'alter default privileges for role umkm_transformer in schema marts '
        'grant select on tables to umkm_analyst';
exception when insufficient_privilege then
    raise notice 'not allowed to set umkm_transformer''s default privileges: rely on dbt grants';
end
$$;

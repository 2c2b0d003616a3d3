-- Atomic marts (issue 21, item 6): the pipeline's dbt build writes every mart into the
-- schema `marts_build`, and one transaction at the end moves them into `marts`
-- (umkm.transform.marts). Analysts never see `marts_build`: no usage for umkm_analyst.
-- Tables keep the grants dbt gave them (select to umkm_analyst) when they move.
create schema if not exists marts_build;
revoke all on schema marts_build from public;
grant usage, create on schema marts_build to umkm_transformer;
-- A table gets its default privileges where it is *created*: the ones `marts` gives
-- analysts (V001, V030) are given here too, so a mart moved into `marts` carries them.
-- Analysts still cannot read marts_build itself (no usage on the schema).
alter default privileges in schema marts_build grant select on tables to umkm_analyst;
do $$
begin
    execute 'alter default privileges for role umkm_transformer in schema marts_build '
        'grant select on tables to umkm_analyst';
exception when insufficient_privilege then
    raise notice 'not allowed to set umkm_transformer''s default privileges: rely on dbt grants';
end
$$;

-- Staging and intermediate are unlogged tables (dbt_project.yml): a crash of the server
-- empties them (a clean restart keeps them). This unlogged table of one row is emptied by
-- the same crash: a successful build writes its build id here, and the next build is
-- skipped only when that id is still here (umkm.transform.build_state).
create unlogged table if not exists audit.build_sentinel (
    build_id bigint primary key
);

-- Staging is incremental by snapshot (dbt macro staging_by_snapshot): a build stages again
-- only the snapshots whose published rows changed. What the staged rows were computed with
-- (the dbt project, the warehouse functions, the pseudonymisation key, the BPS reference)
-- is recorded here as one digest; when it differs, the pipeline's build drops the staging
-- tables first and stages everything (umkm.transform.staging).
create table if not exists audit.staging_inputs (
    only_row boolean primary key default true check (only_row),
    digest text not null,
    recorded_at timestamptz not null default now()
);

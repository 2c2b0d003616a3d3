-- Reruns that change nothing are recognised and skipped (docs/INGESTION.md, "Reruns").
--   audit.loads.fingerprint: what the attempt delivered (count and an order-free sum of
--     64-bit hashes of every record id and record, plus the records that could not be
--     parsed), computed before validation;
--   audit.loads.unchanged_of: set when the attempt delivered exactly what an earlier
--     successful load of the snapshot had: the batch was dropped unvalidated and
--     unpublished, and this names the batch whose rows stay published;
--   audit.builds: one row per warehouse build, with the state of raw and of the dbt
--     project it built from; a build whose state equals the last successful one's is
--     skipped.

alter table audit.loads add column if not exists fingerprint text;
alter table audit.loads add column if not exists unchanged_of text;

create table if not exists audit.builds (
    build_id bigserial primary key,
    snapshot date not null,
    state text not null,
    status text not null check (status in ('running', 'success', 'skipped')),
    detail text,
    recorded_at timestamptz not null default now()
);
create index if not exists builds_recorded on audit.builds (recorded_at);

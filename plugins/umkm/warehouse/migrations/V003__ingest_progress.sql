-- Ingestion bookkeeping beyond V002: per-attempt page and retry counts (shown by
-- `umkm ingest` and useful when a source degrades), and lookups by batch id (publish,
-- discard and validation find an attempt by its batch).

alter table audit.loads add column if not exists pages bigint not null default 0;
alter table audit.loads add column if not exists retries bigint not null default 0;
create index if not exists loads_batch on audit.loads (batch_id);

-- Load bookkeeping: one row per attempt, resumable checkpoints, high-water marks, and
-- validation results (one row per expectation per run).

create table if not exists audit.loads (
    load_id bigserial primary key,
    source_id text not null,
    snapshot date not null,
    batch_id text not null,
    mode text not null check (mode in ('full', 'incremental')),
    status text not null check (status in ('running', 'success', 'failed', 'no_data')),
    rows_fetched bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_rejected bigint not null default 0,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    error text
);
create index if not exists loads_source_snapshot on audit.loads (source_id, snapshot);

create table if not exists audit.checkpoints (
    source_id text not null,
    snapshot date not null,
    batch_id text not null,
    position jsonb not null,
    rows_fetched bigint not null,
    updated_at timestamptz not null default now(),
    primary key (source_id, snapshot)
);

create table if not exists audit.watermarks (
    source_id text primary key,
    high_water timestamptz not null,
    updated_at timestamptz not null default now()
);

create table if not exists audit.validation_results (
    run_id text not null,
    source_id text not null,
    snapshot date not null,
    batch_id text,
    expectation text not null,
    severity text not null check (severity in ('critical', 'warning')),
    success boolean not null,
    observed text,
    expected text,
    unexpected_count bigint,
    run_at timestamptz not null default now(),
    primary key (run_id, expectation)
);

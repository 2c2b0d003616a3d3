-- The data stewards' place (issue 19): the schema `stewardship`, where dbt builds the queue
-- of pairs to review (er_review_queue) and the check of the model against the stewards'
-- decisions (er_label_calibration), and where the stewards' decisions live
-- (stewardship.er_labels, written by `umkm er label`, read by the next build, which follows
-- them over the model). The role umkm_steward reads the schema and writes the labels;
-- analysts (umkm_analyst) do not see it. Deciding a pair means looking at the two records,
-- so stewards also read raw (the records as delivered).

create schema if not exists stewardship;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'umkm_steward') then
        create role umkm_steward nologin;
    end if;
end
$$;

-- A pair is named by its two records (source, record id), in order: (source_a, record_a)
-- sorts before (source_b, record_b). Record ids are stable across builds; rids are not.
create table if not exists stewardship.er_labels (
    source_id_a text not null,
    record_id_a text not null,
    source_id_b text not null,
    record_id_b text not null,
    label text not null check (label in ('match', 'non_match')),
    note text,
    labelled_by text not null default current_user,
    labelled_at timestamptz not null default now(),
    primary key (source_id_a, record_id_a, source_id_b, record_id_b),
    check ((source_id_a, record_id_a) < (source_id_b, record_id_b))
);

grant usage on schema stewardship to umkm_steward, umkm_transformer;
grant usage, create on schema stewardship to umkm_transformer;
grant select, insert, update, delete on stewardship.er_labels to umkm_steward;
grant select on stewardship.er_labels to umkm_transformer;
grant usage on schema raw to umkm_steward;
grant select on all tables in schema raw to umkm_steward;
alter default privileges in schema raw grant select on tables to umkm_steward;

do $$
begin
    execute 'alter default privileges for role umkm_transformer in schema stewardship '
        'grant select on tables to umkm_steward';
exception when insufficient_privilege then
    raise notice 'not allowed to set umkm_transformer''s default privileges: rely on dbt grants';
end
$$;

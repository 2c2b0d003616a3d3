-- The raw lock of a source (umkm.warehouse.raw_history.lock_source), for the current
-- transaction: every write of raw.<source_id> takes it, so the writes of one source, which
-- share record versions, go one at a time instead of deadlocking.
create or replace function public.umkm_raw_lock(source_id text) returns void
language sql as $$
    select pg_advisory_xact_lock(hashtextextended('umkm-raw:' || source_id, 0))
$$;

-- The key of a batch id in raw.delivery_batches (V060), given on first use: the delivery
-- rows store it instead of the batch id's text.
create or replace function public.umkm_batch_key(batch_id text) returns integer
language plpgsql as $$
declare
    key integer;
begin
    select b.batch_key into key from raw.delivery_batches as b where b.batch_id = $1;
    if key is null then
        insert into raw.delivery_batches (batch_id) values ($1)
        on conflict do nothing
        returning delivery_batches.batch_key into key;
    end if;
    if key is null then  -- another transaction gave it between the two statements
        select b.batch_key into key from raw.delivery_batches as b where b.batch_id = $1;
    end if;
    return key;
end
$$;

-- Writes through the view raw.<source_id> (umkm.warehouse.raw_history): a replay, validation
-- of a published snapshot, a hand fix. Publish writes the two tables set-wise instead. Row by
-- row: a delivery is deleted, or (insert, update) the whole record is stored as its version
-- (once per content) and its delivery row written; first it takes the source's raw lock, as
-- publish does.
create or replace function public.umkm_raw_write() returns trigger
language plpgsql as $$
declare
    versions text := format('raw.%I', tg_table_name || '__versions');
    deliveries text := format('raw.%I', tg_table_name || '__deliveries');
begin
    perform public.umkm_raw_lock(tg_table_name);
    if tg_op in ('UPDATE', 'DELETE') then
        execute format('delete from %s where snapshot = $1 and record_id = $2', deliveries)
        using old.snapshot, old.record_id;
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    execute format(
        'insert into %s (version_id, record) values (md5($1::text)::uuid, $1) '
        'on conflict do nothing',
        versions
    ) using new.record;
    execute format(
        'insert into %s (snapshot, record_id, version_id, volatile, batch_key, feed_position, '
        'loaded_at) values ($1, $2, md5($3::text)::uuid, null, $4, $5, $6)',
        deliveries
    ) using new.snapshot, new.record_id, new.record, public.umkm_batch_key(new.batch_id),
        new.feed_position, new.loaded_at;
    return new;
end
$$;

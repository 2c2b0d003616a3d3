-- The batch each raw delivery row came in, stored once per batch (issue 23: history stored
-- once). A delivery row of raw.<source>__deliveries carried its batch id as text, 44 of its
-- bytes: about 380 MiB for every snapshot at scale 1.0. It now carries `batch_key`, a
-- 4-byte key of this table; the view raw.<source> still shows `batch_id`
-- (umkm.warehouse.raw_history). Keys are given by public.umkm_batch_key
-- (functions/07_raw_history.sql), by publish and by the view's write trigger.
create table if not exists raw.delivery_batches (
    batch_key integer generated always as identity primary key,
    batch_id text not null unique
);

comment on table raw.delivery_batches is
    'Every batch a raw delivery row came in, once: raw.<source>__deliveries keeps its '
    'batch_key; read batch_id through the view raw.<source>.';

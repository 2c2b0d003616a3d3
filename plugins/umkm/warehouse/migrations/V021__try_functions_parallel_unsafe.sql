-- umkm_try_date and umkm_try_timestamptz catch parse errors with an exception block, which
-- opens a subtransaction. No process can open one while a query runs in parallel mode (the
-- leader included), so under a parallel plan (large tables, or CREATE TABLE AS over several
-- staged views) the block failed and the handler returned null: every DD/MM/YYYY date of a
-- whole build came out null, and no account of the file-drop marketplaces was ever dormant.
-- Parallel unsafe keeps any query that calls them out of parallel mode.

alter function public.umkm_try_date(text, text) parallel unsafe;
alter function public.umkm_try_timestamptz(text) parallel unsafe;

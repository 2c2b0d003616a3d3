-- Connected components of a graph given as two arrays of node ids (entity clusters).
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes; the migrations that first defined them are history).

create or replace function public.umkm_connected_components(rid_a bigint[], rid_b bigint[])
returns table (rid bigint, comp_rid bigint)
language plpgsql volatile
as $$
declare
    changed bigint;
begin
    drop table if exists
        pg_temp.umkm_cc_edges, pg_temp.umkm_cc_labels, pg_temp.umkm_cc_step, pg_temp.umkm_cc_next;
    -- both directions of every edge: a node's neighbours are one join away
    create temporary table umkm_cc_edges on commit drop as
    select e.a as src, e.b as dst
    from unnest(rid_a, rid_b) as e (a, b)
    where e.a <> e.b
    union
    select e.b, e.a
    from unnest(rid_a, rid_b) as e (a, b)
    where e.a <> e.b;
    analyze pg_temp.umkm_cc_edges;

    create temporary table umkm_cc_labels on commit drop as
    select distinct e.src as rid, e.src as comp_rid
    from pg_temp.umkm_cc_edges as e;
    analyze pg_temp.umkm_cc_labels;

    loop
        -- each node takes the smallest label among itself and its neighbours
        create temporary table umkm_cc_step on commit drop as
        select l.rid, least(l.comp_rid, min(n.comp_rid)) as comp_rid
        from pg_temp.umkm_cc_labels as l
        inner join pg_temp.umkm_cc_edges as e on l.rid = e.src
        inner join pg_temp.umkm_cc_labels as n on e.dst = n.rid
        group by l.rid, l.comp_rid;
        analyze pg_temp.umkm_cc_step;

        -- pointer jumping: then the label of its label (the distance covered doubles)
        create temporary table umkm_cc_next on commit drop as
        select s.rid, least(s.comp_rid, p.comp_rid) as comp_rid
        from pg_temp.umkm_cc_step as s
        inner join pg_temp.umkm_cc_step as p on s.comp_rid = p.rid;

        select count(*) into changed
        from pg_temp.umkm_cc_next as n
        inner join pg_temp.umkm_cc_labels as l on n.rid = l.rid
        where n.comp_rid <> l.comp_rid;

        drop table pg_temp.umkm_cc_labels, pg_temp.umkm_cc_step;
        alter table pg_temp.umkm_cc_next rename to umkm_cc_labels;
        analyze pg_temp.umkm_cc_labels;

        exit when changed = 0;
    end loop;

    return query select l.rid, l.comp_rid from pg_temp.umkm_cc_labels as l;
end;
$$;

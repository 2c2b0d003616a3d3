{#- Keys the warehouse enforces (issue 23, item 3): for the tables that grow with every
    snapshot held and are built one snapshot at a time (staging by snapshot), a primary key
    and not-null columns checked by PostgreSQL as each snapshot's rows go in, instead of
    tests that read every snapshot held at every build. The post-hook adds them when the
    table lacks them (after a build of the whole table); a later build's rows are checked
    on insert, and a duplicate or a null fails that model's build, so nothing is published.
    The test `enforced_keys` checks the constraints are in place (a catalogue read). -#}
{% macro enforce_keys(primary_key, not_null=[]) -%}
do $keys$
begin
    if not exists (
        select from pg_constraint
        where conrelid = '{{ this }}'::regclass and contype = 'p'
    ) then
        alter table {{ this }} add primary key ({{ primary_key | join(', ') }});
    end if;
    {%- for column in not_null %}
    alter table {{ this }} alter column {{ column }} set not null;
    {%- endfor %}
end
$keys$
{%- endmacro %}

{#- Generic test: `model` has the primary key `primary_key` (columns in that order) and its
    `not_null` columns are declared not null; a missing constraint is a failing row. -#}
{% test enforced_keys(model, primary_key, not_null=[]) %}
select 'primary key ({{ primary_key | join(", ") }})' as missing
where not exists (
    select
    from pg_constraint as c
    where
        c.conrelid = '{{ model }}'::regclass
        and c.contype = 'p'
        and array(
            select a.attname::text
            from unnest(c.conkey) with ordinality as k (attnum, position)
            inner join pg_attribute as a
                on a.attrelid = c.conrelid and a.attnum = k.attnum
            order by k.position
        ) = array[{% for column in primary_key %}'{{ column }}'{% if not loop.last %}, {% endif %}{% endfor %}]
)
{%- for column in not_null %}
union all
select 'not null {{ column }}' as missing
where not exists (
    select
    from pg_attribute
    where
        attrelid = '{{ model }}'::regclass
        and attname = '{{ column }}'
        and attnotnull
)
{%- endfor %}
{% endtest %}

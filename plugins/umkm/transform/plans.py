"""Plan guard: the planner's estimates for every statement of the build, checked for joins
that would explode.

A statement passes when no join in its plan is estimated above `FACTOR` times the rows of
the largest input the statement reads, a table or a set-returning function (at least
`FLOOR_ROWS`). A product of two inputs
(records x records) is estimated at about n times that size and fails on any world of a
few thousand records; a join of keys, a fan-out to a few rows each, or a many-to-many
join within small blocks stays far below. The estimates are those of the server the
statement runs on, with the session settings its model sets (pre-hooks `set ...`), after
`analyze`: the build analyses every table as it is built (dbt_project.yml), so these
are the statistics a real build plans with.

A model that multiplies its input by design (the draws of int_entity_cluster_draws: every
drawn record once per draw) declares it in its config, `meta={'plan_fanout': n}`; its bound
is multiplied by n, and only by n: a product of its inputs still fails. A view that does
(the marts stored as ranges of snapshots, expanded to a row per snapshot) passes its n to
the models and tests that read it.

Used by tests/warehouse/test_plans.py against each PostgreSQL version the project
supports (docs/PERFORMANCE.md, "Plans on every supported PostgreSQL").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

JOIN_NODES = frozenset({"Nested Loop", "Hash Join", "Merge Join"})

#: A join may be estimated at most this many times the rows of the statement's largest input.
FACTOR = 50

#: ... and at least this many rows (a one-row summary unnested into its parts is no product).
FLOOR_ROWS = 100


@dataclass(frozen=True)
class Statement:
    """A statement of the build to explain: its name, SQL and session settings (`set ...`)."""

    name: str
    sql: str
    settings: tuple[str, ...] = ()
    fanout: int = 1


@dataclass(frozen=True)
class Join:
    node_type: str
    rows: float
    relations: tuple[str, ...]

    def describe(self) -> str:
        under = ", ".join(self.relations) or "no table"
        return f"{self.node_type} estimated at {self.rows:,.0f} rows (over {under})"


@dataclass
class PlanCheck:
    """The joins of one statement's plan against its bound."""

    statement: str
    input_rows: float
    joins: list[Join] = field(default_factory=list)
    fanout: int = 1

    @property
    def bound(self) -> float:
        return FACTOR * max(self.input_rows, FLOOR_ROWS) * self.fanout

    @property
    def oversized(self) -> list[Join]:
        return [j for j in self.joins if j.rows > self.bound]

    @property
    def worst_ratio(self) -> float:
        """The largest join's estimate over the statement's largest input."""
        largest = max((j.rows for j in self.joins), default=0.0)
        return largest / (max(self.input_rows, FLOOR_ROWS) * self.fanout)

    def describe(self) -> str:
        declared = f", declared fan-out {self.fanout}" if self.fanout > 1 else ""
        lines = [
            f"{self.statement}: largest input {self.input_rows:,.0f} rows, "
            f"bound {self.bound:,.0f} ({FACTOR}x{declared})"
        ]
        lines += [f"  {j.describe()}" for j in self.oversized]
        return "\n".join(lines)


def _walk(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _relation(node: dict) -> str | None:
    if "Relation Name" not in node:
        return None
    schema = node.get("Schema")
    return f"{schema}.{node['Relation Name']}" if schema else node["Relation Name"]


def plan_joins(plan: dict) -> list[Join]:
    """Every join node of a plan (EXPLAIN (FORMAT JSON, VERBOSE) root `Plan`)."""
    joins = []
    for node in _walk(plan):
        if node["Node Type"] in JOIN_NODES:
            under = sorted({r for n in _walk(node) if (r := _relation(n))})
            joins.append(Join(node["Node Type"], float(node["Plan Rows"]), tuple(under)))
    return joins


def plan_relations(plan: dict) -> set[str]:
    return {r for node in _walk(plan) if (r := _relation(node))}


def explain(conn, statement: Statement, *, unanalysed: Iterable[str] = ()) -> dict:
    """The root plan node of `statement` under its settings; nothing is executed, and the
    settings end with the transaction (rolled back).

    `unanalysed`: tables planned as if never analysed (their statistics removed, their
    size unknown to the catalog, as for a table created a moment ago), inside the same
    rolled-back transaction; needs a superuser.
    """
    with conn.transaction(force_rollback=True):
        for name in unanalysed:
            conn.execute("delete from pg_statistic where starelid = to_regclass(%s)", (name,))
            conn.execute(
                "update pg_class set reltuples = -1, relpages = 0, relallvisible = 0 "
                "where oid = to_regclass(%s)",
                (name,),
            )
        for setting in statement.settings:
            conn.execute(setting)
        row = conn.execute("explain (format json, verbose) " + statement.sql).fetchone()
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return document[0]["Plan"]


def table_rows(conn, relations: Iterable[str]) -> float:
    """The largest row count among `relations` (pg_class.reltuples, as analysed)."""
    largest = 0.0
    for name in relations:
        found = conn.execute(
            "select greatest(c.reltuples, 0) from pg_class as c where c.oid = to_regclass(%s)",
            (name,),
        ).fetchone()
        if found is not None and found[0] is not None:
            largest = max(largest, float(found[0]))
    return largest


#: Schemas of the tables the build creates: in `fresh` checks, their statistics are removed.
BUILT_SCHEMAS = ("staging", "intermediate", "marts")


def function_rows(plan: dict) -> float:
    """The largest row estimate of a set-returning function the plan reads (a sample of a
    million draws is an input of that size, like a table)."""
    return max(
        (float(n["Plan Rows"]) for n in _walk(plan) if n["Node Type"] == "Function Scan"),
        default=0.0,
    )


def check_statement(conn, statement: Statement, *, fresh: bool = False) -> PlanCheck:
    """The statement's joins against its bound. `fresh`: planned as if the tables the
    build created had never been analysed (the plan must hold without their statistics
    too: a build whose analyse did not run, or a table read before autovacuum saw it)."""
    plan = explain(conn, statement)
    relations = plan_relations(plan)
    input_rows = max(table_rows(conn, relations), function_rows(plan))
    if fresh:
        built = sorted(r for r in relations if r.split(".", 1)[0] in BUILT_SCHEMAS)
        plan = explain(conn, statement, unanalysed=built)
    return PlanCheck(
        statement=statement.name + (" (inputs never analysed)" if fresh else ""),
        input_rows=input_rows,
        joins=plan_joins(plan),
        fanout=statement.fanout,
    )


def build_statements(manifest_path: Path) -> list[Statement]:
    """The models and data tests of a dbt manifest that holds compiled code (after `dbt
    build`), each with the `set` statements of its pre-hooks."""
    manifest = json.loads(Path(manifest_path).read_text())
    nodes = manifest["nodes"]

    def declared(node: dict) -> int:
        return int(node.get("config", {}).get("meta", {}).get("plan_fanout", 1))

    out = []
    for node in nodes.values():
        if node["resource_type"] not in ("model", "test") or not node.get("compiled_code"):
            continue
        hooks = node.get("config", {}).get("pre-hook", [])
        settings = tuple(h["sql"] for h in hooks if h["sql"].lstrip().lower().startswith("set "))
        # a view that fans out by design passes its fan-out to what reads it (its SQL is
        # planned inside theirs)
        views = [
            nodes[parent]
            for parent in node.get("depends_on", {}).get("nodes", [])
            if nodes.get(parent, {}).get("config", {}).get("materialized") == "view"
        ]
        fanout = declared(node) * max((declared(view) for view in views), default=1)
        name = f"{node['resource_type']} {node['name']}"
        out.append(Statement(name, node["compiled_code"], settings, fanout))
    return sorted(out, key=lambda s: s.name)


def validation_statements(conn, source_id: str) -> list[Statement]:
    """What validation runs on a batch of `source_id`, over its published table: the
    statement remembering region spellings, each check's unexpected-rows query (as Great
    Expectations runs it) and the quarantine's selection of failing rows."""
    from psycopg import sql

    from umkm.sources import get_source
    from umkm.validation import quarantine, suites

    table = f"raw.{source_id}"
    out = []
    checks = suites.checks_for(source_id)
    if any(c.name == "region_resolves" for c in checks):
        remember = suites.remember_regions_sql(get_source(source_id), table)
        out.append(Statement(f"validation {source_id} remember_regions", remember))
    for check in checks:
        query = (
            suites.unexpected_rows_query(check.predicate) if check.kind == "row" else check.query
        )
        if query:
            out.append(
                Statement(f"validation {source_id} {check.name}", query.replace("{batch}", table))
            )
    selection = quarantine.bad_rows_query(
        source_id, sql.Identifier("raw", source_id), sql.SQL(""), keyed=True
    ).as_string(conn)
    out.append(Statement(f"validation {source_id} quarantine", selection))
    return out

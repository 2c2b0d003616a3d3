"""The plan guard: no statement of the build may plan a join that explodes, on any
supported PostgreSQL (umkm.transform.plans).

A generated world of a few thousand records (the simulator at scale 0.0005: 4,477
marketplace, registry and e-Smart records) is pulled, validated and published, `dbt build`
runs on it and every table is analysed. Then every model, every data test and the
validation SQL of every source is explained with the model's session settings; a join
estimated above 50x the statement's largest input fails the test, naming the statement
and the join. Run on the warehouse under test (the embedded PostgreSQL 18 by default) and
on the PostgreSQL 15 service at 127.0.0.1:5432 when it is reachable
(`UMKM_SECOND_WAREHOUSE_URL` overrides it), as tests/warehouse/test_dbt_build.py does.

Entity resolution on PostgreSQL 15 once planned every record against every record (171
billion rows estimated at scale 0.05) and never finished: this test fails on that plan.
"""

from __future__ import annotations

import pytest

from tests.conftest import (
    SECOND_TARGET_URL,
    create_test_database,
    drop_test_database,
    reachable,
    server_admin_url,
)
from umkm.transform import plans
from umkm.transform.dbt import run_dbt, target_dir
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

SNAPSHOT = "2017-11-15"
SCALE = 0.0005  # 4,477 entity records: a few thousand, as the guard needs

#: Draws of the entity-resolution intervals in this world: the draws model repeats its
#: records once per draw by design and declares it (plan_fanout); with a few draws its
#: bound stays far below a product of records.
DRAWS = 4

#: Models whose post-hooks index their key.
KEYED = ("int_entity_records", "int_entity_clusters")


def _servers() -> list:
    return [
        pytest.param(server_admin_url, id="warehouse-under-test"),
        pytest.param(
            lambda: SECOND_TARGET_URL,
            id="postgres-service",
            marks=pytest.mark.skipif(
                not reachable(SECOND_TARGET_URL), reason=f"{SECOND_TARGET_URL} not reachable"
            ),
        ),
    ]


def _publish_world(url: str, env: dict[str, str], monkeypatch) -> list[str]:
    """Every source pulled, validated and published, as the ingestion DAGs do (reference
    first); returns the sources that published rows."""
    from umkm.loading.extract import extract_load
    from umkm.loading.publish import publish
    from umkm.sources import ingest_order
    from umkm.validation import validate_batch

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    published = []
    for source_id in ingest_order():
        result = extract_load(source_id, SNAPSHOT, url=url)
        if result.status == "no_data":
            continue
        validate_batch(source_id, SNAPSHOT, result.batch_id, url=url, alert=False)
        if publish(source_id, SNAPSHOT, result.batch_id, url=url):
            published.append(source_id)
    return published


@pytest.fixture(scope="module", params=_servers())
def world(request):
    """(url, published sources, manifest of the build) on one server."""
    from umkm.runner.simulator import start_simulator

    admin_url = request.param()
    url = create_test_database(admin_url, "plans")
    monkeypatch = pytest.MonkeyPatch()
    try:
        with start_simulator(2017, SCALE, [SNAPSHOT]) as sim:
            published = _publish_world(url, sim.env, monkeypatch)
        variables = {"snapshot": SNAPSHOT, "er_interval_draws": DRAWS}
        run_dbt(["build"], url=url, variables=variables, capture=True)
        manifest = target_dir() / "manifest.json"
        statements = plans.build_statements(manifest)
        # the models holding keys built again, as every build after the first does
        run_dbt(["run", "--select", *KEYED], url=url, variables=variables, capture=True)
        with connect(url, autocommit=True) as conn:
            conn.execute("analyze")
            version = conn.execute("show server_version").fetchone()[0]
            for source_id in published:
                statements += plans.validation_statements(conn, source_id)
        yield url, version, statements
    finally:
        monkeypatch.undo()
        drop_test_database(admin_url, url)


def test_the_world_has_a_few_thousand_records(world):
    url, _version, statements = world
    with connect(url) as conn:
        records = conn.execute("select count(*) from intermediate.int_entity_records").fetchone()
    assert 2_000 <= records[0] <= 10_000, records
    names = {s.name for s in statements}
    # every large model and the validation of every entity source is explained
    for expected in (
        "model int_entity_candidate_pairs",
        "model int_entity_links",
        "model int_entity_pairs_compared",
        "model int_er_parameters",
        "model int_entity_clusters",
        "model dim_umkm_entity",
        "model fct_umkm_entity_snapshots",
        "model mart_reconciliation_bridge",
        "model mart_online_umkm_population",
        "validation tokopedia quarantine",
        "validation kemenkopukm regency_code_known",
        "validation tokopedia region_resolves",
        "validation tokopedia remember_regions",
    ):
        assert expected in names, expected


@pytest.mark.parametrize("fresh", [False, True], ids=["analysed", "never-analysed"])
def test_no_plan_has_an_exploding_join(world, fresh):
    """Planned on the statistics the build leaves (every table analysed as it is built),
    and again as if the tables the build creates had never been analysed: a plan must not
    need statistics to stay bounded (the links that PostgreSQL 15 planned as a product
    read a pairs table autovacuum had not analysed yet)."""
    url, version, statements = world
    with connect(url) as conn:
        checks = [plans.check_statement(conn, s, fresh=fresh) for s in statements]
    worst = max(checks, key=lambda c: c.worst_ratio)
    print(f"PostgreSQL {version}: largest ratio {worst.worst_ratio:.1f} ({worst.statement})")
    failing = [c for c in checks if c.oversized]
    report = "\n".join(c.describe() for c in failing)
    assert not failing, f"PostgreSQL {version}: joins above their bound\n{report}"
    # the guard looked at joins: the entity-resolution models have some
    joined = {c.statement.removesuffix(" (inputs never analysed)") for c in checks if c.joins}
    assert {"model int_entity_pairs_compared", "model int_entity_clusters"} <= joined


def test_the_guard_fails_a_product_of_records(world):
    """The bound is not vacuous: records x records, as PostgreSQL 15 once planned the
    links, is far above it on this world."""
    url, _version, _statements = world
    product = plans.Statement(
        "records x records",
        "select a.rid, b.rid from intermediate.int_entity_records as a "
        "cross join intermediate.int_entity_records as b where a.rid < b.rid",
    )
    with connect(url) as conn:
        check = plans.check_statement(conn, product)
    assert check.oversized, check.describe()
    assert check.worst_ratio > 10 * plans.FACTOR


def test_a_declared_fanout_does_not_hide_a_product(world):
    """The draws model declares its fan-out (one copy of its records per draw), and the
    views of marts stored as ranges theirs (a range expands to its snapshots), which what
    reads them inherits; the bound grows by that much only, and a product of records still
    fails under it."""
    url, _version, statements = world
    fanout = {s.name: s.fanout for s in statements}
    assert fanout["model int_entity_cluster_draws"] == DRAWS
    for reader in (
        "model map_record_to_entity",
        "test assert_record_map_covers_every_record",
        "model fct_umkm_entity_snapshots",
        "model mart_reconciliation_bridge",
        "test assert_entity_sets_match_bridge",
    ):
        assert fanout[reader] == 36, reader
    assert fanout["model dim_umkm_entity"] == fanout["model int_entity_clusters"] == 1
    assert set(fanout.values()) == {1, 36, DRAWS}
    product = plans.Statement(
        "records x records, declared as draws",
        "select a.rid, b.rid from intermediate.int_entity_records as a "
        "cross join intermediate.int_entity_records as b where a.rid < b.rid",
        fanout=DRAWS,
    )
    with connect(url) as conn:
        check = plans.check_statement(conn, product)
    assert check.oversized, check.describe()


def test_keys_are_indexed_after_a_rebuild(world):
    """The post-hooks' indexes exist on the tables of the second build too (a fixed index
    name once collided with the previous table's, kept until commit, and was skipped)."""
    url, _version, _statements = world
    with connect(url) as conn:
        rows = conn.execute(
            "select t.relname, i.indisunique, pg_get_indexdef(i.indexrelid) "
            "from pg_index as i join pg_class as t on t.oid = i.indrelid "
            "join pg_namespace as n on n.oid = t.relnamespace "
            "where n.nspname = 'intermediate'"
        ).fetchall()
    indexed = {(table, unique) for table, unique, _definition in rows}
    assert ("int_entity_records", True) in indexed, rows
    assert ("int_entity_clusters", True) in indexed, rows


def test_every_table_model_is_analysed_as_it_is_built():
    """The guard's premise: the build plans each model on analysed inputs, as the guard
    does (the project-wide post-hook)."""
    import yaml

    from umkm import settings

    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    hooks = project["models"]["umkm"]["+post-hook"]
    hooks = [hooks] if isinstance(hooks, str) else hooks
    # every model but a view (which has no statistics of its own)
    expected = "{% if model.config.materialized != 'view' %}analyze {{ this }}{% endif %}"
    assert expected in hooks

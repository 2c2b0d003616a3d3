"""DAG builders. The files in `dags/` call these; the DAGs' shape lives here once.

- `ingest_<source_id>`, one per registry entry: extract_load -> validate -> publish, the last
  producing the asset of the source's raw table. A source whose validation needs a reference
  (`umkm.orchestration.references`) first waits for it: wait_for_reference -> extract_load.
- `warehouse_build`: scheduled on the critical sources' raw assets; gates on what landed,
  builds dbt.
"""

from __future__ import annotations

from umkm.orchestration import common, dbt_group, references, snapshots, tasks
from umkm.sources import Source, load_registry

INGEST_DOC = """
### Ingest `{sid}` ({name})

Pulls one snapshot of **{name}** over the `{protocol}` protocol
(`../shared/feeds/CONTRACT.md`) from the connection `{conn_id}`, lands it in a batch
table, validates it, then replaces the snapshot in `raw.{sid}` in one transaction.

- Snapshot: the run's `snapshot` param, else the WIB day before the logical date
  (monthly runs at 02:00 WIB on the 16th load the 15th).
- Modes: `full` (default) or `incremental` (sources with `updated_since`: {incremental}).
- Produces the asset `raw.{sid}`; criticality **{criticality}**; owner {owner}.
- Rerun-safe: a rerun of the same snapshot gives the same rows; an interrupted pull
  resumes from its last committed page. A rerun whose delivery equals what is published
  ends after the pull (status `unchanged`: nothing validated or published again) unless
  the `force` param is set.
{reference}"""

#: The ingest DAG doc's part on its first task, for sources that need a reference.
WAIT_DOC = """
- **Waits first for the reference {refs}** (`wait_for_reference`, a sensor in reschedule
  mode): validation reads the BPS region codes, so nothing is pulled until {refs} has a
  successful load at or before the snapshot in `audit.loads` (any earlier load serves).
  {dags} publishing its asset {assets} is what ends the wait, at the next poke (every
  {interval}). After {timeout} the task fails with one line naming the reference and
  what to run ({todo}). Interval and timeout: `UMKM_REFERENCE_POKE_INTERVAL`,
  `UMKM_REFERENCE_WAIT_TIMEOUT` (seconds, read when the DAG file is parsed).
"""

#: The reference's own DAG doc: who waits for its asset.
WAITED_DOC = """
- The ingest DAGs of the sources whose validation needs this reference wait for it
  (`wait_for_reference`): publishing `raw.{sid}` is what ends their wait on a fresh warehouse.
"""

BUILD_DOC = """
### Warehouse build

Runs when the critical sources' raw tables have been published (asset schedule), or by
hand / `umkm run` with a `snapshot` param. Gates on what landed for the snapshot
(`check_sources`: a discontinued source's `no_data` is accepted, any other gap blocks),
then builds the dbt project (staging, entity resolution, marts) with its tests: one task
per dbt model (astronomer-cosmos, watcher mode: a single `dbt build`, each model's task
follows its result), checks the bridge for drift against the previous snapshot (one alert
with the numbers), and writes the analysts' report.

`needs_build` skips the dbt tasks when raw data and the dbt project are exactly as the last
successful build of the same snapshot left them (a rerun with nothing changed; the
decision and its reason are in `audit.builds`); the `force` param builds anyway. Drift and
report run either way.
"""


def _snapshot_params():
    from airflow.sdk import Param

    return {
        "snapshot": Param(
            None,
            type=["null", "string"],
            description="Snapshot date YYYY-MM-DD; empty = from the logical date",
        ),
        "force": Param(
            False,
            type="boolean",
            description="Redo the work even when nothing changed since the last run",
        ),
    }


def build_ingest_dag(source: Source):
    import pendulum
    from airflow.sdk import DAG, CronTriggerTimetable, Param, task

    sid = source.source_id
    needed = references.references_needed(sid)
    limits = references.wait_limits()
    params = _snapshot_params()
    params["mode"] = Param("full", enum=["full", "incremental"], description="Pull mode")
    with DAG(
        dag_id=f"ingest_{sid}",
        # the registry's cron, in WIB: each run loads the WIB day before it fires
        schedule=CronTriggerTimetable(source.schedule, timezone=snapshots.SCHEDULE_TIMEZONE),
        start_date=pendulum.datetime(2017, 1, 16, 2, tz=snapshots.SCHEDULE_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=common.default_args(source.owner, "extract"),
        tags=["ingest", source.kind, source.protocol],
        params=params,
        doc_md=INGEST_DOC.format(
            sid=sid,
            name=source.name,
            protocol=source.protocol,
            conn_id=source.conn_id,
            incremental="yes" if source.updated_since else "no",
            criticality=source.criticality,
            owner=source.owner,
            reference=_reference_doc(source, needed, limits),
        ),
    ) as dag:

        @task(pool=f"source_{sid}")
        def extract_load(**context) -> dict:
            snapshot = snapshots.snapshot_from_context(context)
            params = context.get("params") or {}
            return tasks.extract_load(
                sid, snapshot, params.get("mode") or "full", bool(params.get("force"))
            )

        @task(retries=common.RETRIES["warehouse"]["retries"])
        def validate(load: dict) -> dict:
            return tasks.validate(load)

        @task(outlets=[common.raw_asset(sid)], retries=common.RETRIES["warehouse"]["retries"])
        def publish(load: dict, validation: dict, **context) -> dict:
            result = tasks.publish(load)
            outlet = context["outlet_events"][common.raw_asset(sid)]
            outlet.extra = {"snapshot": load["snapshot"], "status": result["status"]}
            return result

        loaded = extract_load()
        publish(loaded, validate(loaded))

        if needed:
            # First task: wait for the reference's successful load (see references.py for
            # the interval and timeout chosen). Reschedule mode frees the worker slot between
            # pokes; the poke raises the named timeout itself, Airflow's `timeout` is a
            # backstop one poke later. dag.test (`umkm run`) runs reschedules in its loop.
            @task.sensor(
                task_id=references.SENSOR_TASK_ID,
                mode="reschedule",
                poke_interval=limits.poke_interval,
                timeout=limits.sensor_timeout,
                retries=common.RETRIES["warehouse"]["retries"],
            )
            def wait_for_reference(**context) -> bool:
                return references.poke(
                    sid,
                    snapshots.snapshot_from_context(context),
                    needed,
                    references.waited_seconds(context),
                    limits.timeout,
                )

            wait_for_reference() >> loaded
    return dag


def _reference_doc(source: Source, needed: list[str], limits) -> str:
    """The ingest DAG doc's part on references: the wait, or who waits for this one."""
    if source.kind == "reference":
        return WAITED_DOC.format(sid=source.source_id)
    if not needed:
        return ""
    return WAIT_DOC.format(
        refs=", ".join(f"`{r}`" for r in needed),
        dags=", ".join(f"`ingest_{r}`" for r in needed),
        assets=", ".join(f"`raw.{r}`" for r in needed),
        interval=_duration(limits.poke_interval),
        timeout=_duration(limits.timeout),
        todo="; ".join(f"DAG `ingest_{r}`, or `umkm ingest {r}`" for r in needed),
    )


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:g} s"


def build_ingest_dags() -> dict[str, object]:
    return {f"ingest_{sid}": build_ingest_dag(src) for sid, src in load_registry().items()}


def build_warehouse_dag():
    import pendulum
    from airflow.sdk import DAG, AssetAll, task

    # Reference data (BPS) is loaded yearly: it gates the build (check_sources) but does not
    # trigger it, or every monthly build would wait for the next yearly load.
    critical = [
        s for s in load_registry().values() if s.criticality == "critical" and s.kind != "reference"
    ]
    with DAG(
        dag_id="warehouse_build",
        schedule=AssetAll(*[common.raw_asset(s.source_id) for s in critical]),
        start_date=pendulum.datetime(2017, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=common.default_args("analytics-engineering", "dbt"),
        tags=["warehouse", "dbt"],
        params=_snapshot_params(),
        doc_md=BUILD_DOC,
    ) as dag:

        @task(retries=common.RETRIES["warehouse"]["retries"])
        def check_sources(**context) -> dict:
            snapshot = _build_snapshot(context)
            return {"snapshot": str(snapshot), "sources": tasks.check_sources(snapshot)}

        @task(retries=common.RETRIES["warehouse"]["retries"])
        def decide_build(gate: dict, **context) -> dict:
            force = bool((context.get("params") or {}).get("force"))
            return tasks.begin_build(snapshots.parse_snapshot(gate["snapshot"]), force)

        # False skips the dbt tasks and build_done only: drift and report run either way
        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def needs_build(decision: dict) -> bool:
            return bool(decision["needed"])

        @task(retries=common.RETRIES["warehouse"]["retries"])
        def build_done(decision: dict) -> dict:
            return tasks.finish_build(decision)

        @task(retries=common.RETRIES["report"]["retries"], trigger_rule="none_failed")
        def drift(gate: dict) -> dict:
            return tasks.drift(snapshots.parse_snapshot(gate["snapshot"]))

        @task(
            retries=common.RETRIES["report"]["retries"],
            outlets=[common.marts_asset()],
            trigger_rule="none_failed",
        )
        def report(gate: dict) -> dict:
            return tasks.report(snapshots.parse_snapshot(gate["snapshot"]))

        gate = check_sources()
        decision = decide_build(gate)
        if dbt_group.has_manifest():
            transform = dbt_group.dbt_task_group()
        else:  # no manifest built yet: one task, same work, less visibility

            @task
            def dbt_build(gate: dict) -> dict:
                tasks.dbt_build(snapshots.parse_snapshot(gate["snapshot"]))
                return gate

            transform = dbt_build(gate)
        needs_build(decision) >> transform >> build_done(decision) >> drift(gate) >> report(gate)
    return dag


def _build_snapshot(context):
    """Snapshot of a build run: param, else the triggering asset events, else logical date."""
    params = context.get("params") or {}
    if params.get("snapshot"):
        return snapshots.parse_snapshot(params["snapshot"])
    events = context.get("triggering_asset_events") or {}
    found = sorted(
        {
            ev.extra["snapshot"]
            for evs in events.values()
            for ev in evs
            if (ev.extra or {}).get("snapshot")
        }
    )
    if found:
        return snapshots.parse_snapshot(found[-1])
    return snapshots.snapshot_from_context(context)

"""dbt inside Airflow with per-model visibility: a Cosmos task group in *watcher* mode.

Why this design: Cosmos renders one Airflow task per dbt model (with its tests), so the UI
shows which model failed, its log and its retries. In the watcher execution mode a single
producer task runs one `dbt build` for the whole project and each model's task follows
that model's result, so the run pays dbt's start-up (about 6.5 s per invocation on this
machine, `../shared/docs/MEASUREMENTS.md`) once instead of once per model, and dbt keeps
its own parallelism (threads: 2).

The marts are atomic (`umkm.transform.marts`): the producer builds them into `marts_build`
under the warehouse's build lock and moves them into `marts` in one transaction when dbt
has succeeded, through its pre- and post-execute hooks.

Parsing the DAG never calls dbt: the task group is rendered from a manifest built ahead
(`umkm.transform.dbt.build_manifest`, run by `make`/`umkm run` set-up and by the tests) at
`.local/dbt/manifest/manifest.json`. Without a manifest the DAG still parses and falls back
to a single `dbt_build` task, and says so in its docs.

The warehouse reaches dbt through the environment of the Airflow processes
(`WAREHOUSE_HOST`, ... derived from `WAREHOUSE_URL` by `umkm.runner.airflow_env`),
never through operator arguments: those are serialised into Airflow's database and UI.
"""

from __future__ import annotations

import os
from pathlib import Path

from umkm import settings
from umkm.transform import marts
from umkm.transform.dbt import dbt_executable, manifest_path


def has_manifest() -> bool:
    return manifest_path().exists()


def dbt_task_group(group_id: str = "dbt"):
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

    project_dir = settings.dbt_project_dir()
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=manifest_path(),
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="umkm",
            target_name="warehouse",
            profiles_yml_filepath=Path(project_dir) / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            dbt_executable_path=dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        # the marts are built out of the analysts' sight and published at the end
        # (umkm.transform.marts); the model tasks follow the producer and run no dbt
        operator_args={"install_deps": False, "vars": dict(marts.BUILD_VARIABLES)},
    )
    producer = next(t for t in _tasks(group) if t.task_id.endswith("dbt_producer_watcher"))
    # Cosmos skips a retried producer ("does not support Airflow retries"), which would let
    # the run end green with nothing built: the producer fails the run instead, and a
    # rerun of the DAG builds again (dbt build is idempotent).
    producer.retries = 0
    # One build per warehouse, and the marts replaced in one transaction once dbt succeeded:
    # the producer holds the build lock from its start and publishes at its end. A failed
    # or killed producer publishes nothing (the lock ends with its process).
    producer._pre_execute_hook = marts.hold_build_lock
    producer._post_execute_hook = marts.publish_and_release
    if os.environ.get(PRODUCER_FIRST_ENV) == "1":
        _producer_first(group, producer)
    return group


#: Set by `umkm run` (`dag.test`): run the watcher's producer before the model tasks.
PRODUCER_FIRST_ENV = "UMKM_DBT_PRODUCER_FIRST"


def _tasks(group) -> list:
    tasks = []
    pending = list(group.children.values())
    while pending:
        node = pending.pop()
        if hasattr(node, "children"):
            pending.extend(node.children.values())
        else:
            tasks.append(node)
    return tasks


def _producer_first(group, producer) -> None:
    """Make the producer upstream of every root task of the group.

    Under a scheduler the model tasks wait for the producer's results by deferring, and the
    producer runs first by priority. `dag.test` runs one task at a time and resolves a
    deferral inline, so a model task picked before the producer would wait forever: there the
    producer must come first. The tasks and what they show are the same either way.
    """
    tasks = _tasks(group)
    ids = {t.task_id for t in tasks}
    for task in tasks:
        if task is producer or producer.task_id in task.upstream_task_ids:
            continue
        if not task.upstream_task_ids & ids:
            producer >> task

"""The links an alert carries: the task's log in the Airflow UI, the Data Docs page on the
docs server (`umkm serve`), and the runbook section of the alert's kind.

* log: `<airflow base>/dags/<dag_id>/runs/<run_id>/tasks/<task_id>[/mapped/<i>]?try_number=N`,
  the Airflow 3 UI route of a task instance, whose default tab is its log (the shape of
  Airflow's own `ti.log_url`, on the configured base: `settings.airflow_base_url`);
* DAG run: `<airflow base>/dags/<dag_id>/runs/<run_id>`;
* Data Docs: `<docs base>/data_docs/<path in the site>` (`settings.docs_base_url`), the
  validation's own page when it can be found, else the site's index;
* runbook: `<runbook base>#<kind>` (`settings.runbook_base_url`, default `docs/RUNBOOK.md`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from umkm import settings
from umkm.alerts import kinds

#: Paths of `umkm serve` (umkm.report.serve): the report at `/`, these under it.
DATA_DOCS_PATH = "/data_docs/"
DBT_DOCS_PATH = "/dbt_docs/"


def _segment(value) -> str:
    return quote(str(value), safe="")


def dag_run_url(dag_id: str, run_id: str) -> str:
    return f"{settings.airflow_base_url()}/dags/{_segment(dag_id)}/runs/{_segment(run_id)}"


def task_log_url(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None = None,
    map_index: int | None = None,
) -> str:
    """The task instance's page in the Airflow 3 UI, opened on its log."""
    url = f"{dag_run_url(dag_id, run_id)}/tasks/{_segment(task_id)}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    if try_number:
        url += f"?try_number={int(try_number)}"
    return url


def _validation_page(site: Path, validation_run_id: str) -> Path | None:
    """The Data Docs page of one validation run: validations/<suite>/<run>/<time>/<batch>.html."""
    try:
        pages = sorted(site.glob(f"validations/*/{validation_run_id}/*/*.html"))
    except (OSError, ValueError):
        return None
    return pages[-1] if pages else None


def data_docs_url(path: str | Path | None, validation_run_id: str | None = None) -> str | None:
    """The Data Docs link of a validation: its page on the docs server; None when no docs
    were built (`path` None)."""
    if not path:
        return None
    site = settings.data_docs_dir()
    target = Path(path)
    if validation_run_id:
        target = _validation_page(site, validation_run_id) or target
    try:
        relative = target.resolve().relative_to(site.resolve()).as_posix()
    except (OSError, ValueError):
        relative = ""
    if relative == ".":
        relative = ""
    return settings.docs_base_url() + DATA_DOCS_PATH + quote(relative)


def runbook_url(kind: str | None) -> str:
    return f"{settings.runbook_base_url()}#{kinds.anchor(kind)}"

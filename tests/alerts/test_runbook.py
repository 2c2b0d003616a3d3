"""Every alert kind the code can send has its section in docs/RUNBOOK.md, and every alert
carries the link to it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from umkm import settings
from umkm.alerts import kinds

RUNBOOK = settings.REPO_ROOT / "docs" / "RUNBOOK.md"
PLUGINS = settings.REPO_ROOT / "plugins" / "umkm"


def github_slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors() -> set[str]:
    text = RUNBOOK.read_text()
    return {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def section(kind: str) -> str:
    text = RUNBOOK.read_text()
    start = text.index(f"\n## {kind}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_every_kind_has_its_section():
    found = anchors()
    assert kinds.INDEX_ANCHOR in found
    for kind in kinds.KINDS:
        assert kinds.anchor(kind) == kind
        assert kind in found, f"docs/RUNBOOK.md has no section `## {kind}`"
        body = section(kind)
        for part in ("**Means.**", "**Check.**", "**Run.**"):
            assert part in body, f"{kind}: no {part}"
        assert "`umkm " in body, f"{kind}: no command to run"


def test_runbook_links_between_sections_resolve():
    found = anchors()
    for target in re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text()):
        assert target in found, target


def test_kinds_in_the_code_are_known():
    """Every `kind="..."` the code passes, and every kind a task failure of the project's
    DAGs or an inferred alert gets, is in KINDS (so it has a section)."""
    literal = re.compile(r"""kind=["']([a-z_]+)["']""")
    used = set()
    for path in PLUGINS.rglob("*.py"):
        used |= set(literal.findall(path.read_text()))
    assert used, "no kind= found in the code"
    assert used <= set(kinds.KINDS), used - set(kinds.KINDS)

    from umkm.sources import load_registry

    for sid in load_registry():
        for task in ("wait_for_reference", "extract_load", "validate", "publish"):
            assert kinds.task_failure_kind(f"ingest_{sid}", task, RuntimeError()) in kinds.KINDS
    for task in ("check_sources", "decide_build", "dbt.dbt_producer_watcher", "drift", "report"):
        assert kinds.task_failure_kind("warehouse_build", task, RuntimeError()) in kinds.KINDS
    for title, key in (
        ("no data: blanja 2017-11-15", None),  # umkm.orchestration.tasks._alert_no_data
        ("bridge drift: 2017-11-15 (residual +5)", "bridge_drift:2017-11-15:abc"),
    ):
        assert kinds.infer_kind(title, key) in kinds.KINDS


@pytest.mark.parametrize(
    ("dag_id", "task_id", "exc", "kind"),
    [
        ("ingest_shopee", "extract_load", RuntimeError("503"), "ingest_failed"),
        ("ingest_tokopedia", "wait_for_reference", RuntimeError("x"), "reference_wait_timeout"),
        ("warehouse_build", "check_sources", RuntimeError("not landed"), "build_gate_blocked"),
        ("warehouse_build", "dbt.stg_shopee_run", RuntimeError("dbt"), "build_failed"),
        ("my_dag", "t", RuntimeError("x"), "task_failed"),
    ],
)
def test_task_failure_kinds(dag_id, task_id, exc, kind):
    assert kinds.task_failure_kind(dag_id, task_id, exc) == kind


def test_marts_busy_is_its_own_kind():
    from umkm.transform.marts import MartsBusy

    try:
        try:
            raise MartsBusy("could not publish the marts: readers held locks on marts for 600 s")
        except MartsBusy as inner:
            raise RuntimeError("producer failed") from inner
    except RuntimeError as wrapped:
        exc = wrapped
    assert kinds.task_failure_kind("warehouse_build", "dbt.dbt_producer_watcher", exc) == (
        "marts_publish_busy"
    )


def test_validation_kinds():
    quarantine = {"name": "quarantine_rate", "severity": "critical"}
    shape = {"name": "fields_present", "severity": "critical"}
    warn = {"name": "phone_valid", "severity": "warning"}
    assert kinds.validation_kind("failed", [quarantine, warn]) == "quarantine_above_threshold"
    assert kinds.validation_kind("failed", [quarantine, shape]) == "validation_failed"
    assert kinds.validation_kind("warning", [warn]) == "validation_warning"


def test_every_alert_carries_its_runbook_link(webhook):
    from umkm import alerts

    alerts.notify("no data: blanja 2017-11-15", "source blanja has no data", level="warning")
    alerts.notify("something else", "x", dedupe_key="other:1")
    ctx = {
        "ti": SimpleNamespace(
            dag_id="warehouse_build", task_id="check_sources", run_id="r1", try_number=1
        ),
        "run_id": "r1",
        "params": {"snapshot": "2017-11-15"},
        "exception": RuntimeError("snapshot 2017-11-15: critical sources not landed"),
    }
    alerts.notify_task_failure(ctx)
    texts = [post["text"] for post in webhook.posts]
    assert len(texts) == 3
    assert texts[0].endswith("Runbook: docs/RUNBOOK.md#no_data")
    assert texts[1].endswith("Runbook: docs/RUNBOOK.md#alert-kinds")
    assert texts[2].endswith("Runbook: docs/RUNBOOK.md#build_gate_blocked")

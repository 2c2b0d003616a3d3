"""Running a suite with Great Expectations 1.x, in the database, and building Data Docs.

Two contexts, both created once per process (GX is slow to import and set up):

* an ephemeral context holding the SQL datasource on the warehouse. It is built at run time
  so no connection string (credentials) is ever written into a committed file, and so
  parallel tasks never rewrite `expectations/great_expectations.yml` concurrently;
* the file context under `expectations/`, whose expectation store holds the committed suites
  and whose validation-results store and Data Docs site live in the state folder
  (`${UMKM_STATE_DIR}`, see great_expectations.yml). Each run's result is stored there and
  the static site rebuilt.

Result format: BASIC with no partial unexpected list, and the row-check queries select only
`record_id, feed_position`: no record content ever reaches a result or a Data Docs page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from umkm import settings
from umkm.validation import suites

log = logging.getLogger("umkm.validation")

RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}

_LOCK = threading.Lock()
_EPHEMERAL: dict[str, Any] = {}
_FILE: dict[str, Any] = {}


def sqlalchemy_url(url: str) -> str:
    """The warehouse URL in the form SQLAlchemy wants (psycopg2 driver)."""
    from umkm.warehouse.db import normalise_url

    return normalise_url(url).replace("postgresql://", "postgresql+psycopg2://", 1)


def _quiet(context) -> None:
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        log.debug("progress bars setting not supported")


def _ephemeral(url: str):
    """(context, datasource) for this warehouse URL, created once per process."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    sa_url = sqlalchemy_url(url)
    if sa_url not in _EPHEMERAL:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        context = gx.get_context(mode="ephemeral")
        _quiet(context)
        datasource = context.data_sources.add_sql(
            name=f"warehouse_{len(_EPHEMERAL)}", connection_string=sa_url
        )
        _EPHEMERAL[sa_url] = (context, datasource)
    return _EPHEMERAL[sa_url]


def file_context():
    """The committed file context (suites) with its results and Data Docs in the state dir."""
    import great_expectations as gx

    import umkm.validation.gx_expectations  # noqa: F401 - stored results name its type

    state, root = str(settings.state_dir()), str(settings.expectations_dir())
    if (_FILE.get("state"), _FILE.get("root")) != (state, root):
        os.environ["UMKM_STATE_DIR"] = state  # substituted in great_expectations.yml
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        context = gx.get_context(mode="file", context_root_dir=root)
        _quiet(context)
        _FILE.update(state=state, root=root, context=context)
    return _FILE["context"]


def _suite_from_file(context, source_id: str):
    """The committed suite of a source, added to the ephemeral context under a fresh name."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    import umkm.validation.gx_expectations  # noqa: F401 - registers the suites' row checks

    doc = suites.load_suite_document(source_id)
    expectations = []
    for entry in doc["expectations"]:
        config = ExpectationConfiguration(
            type=entry["type"],
            kwargs=entry["kwargs"],
            meta=entry.get("meta"),
            description=entry.get("description"),
        )
        expectations.append(config.to_domain_obj())
    name = doc["name"]
    with contextlib.suppress(Exception):  # not there yet
        context.suites.delete(name)
    return context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))


def run_suite(
    url: str,
    source_id: str,
    *,
    table: str | None = None,
    query: str | None = None,
    parameters: dict[str, Any],
    asset_name: str,
):
    """Validate a table (schema.name) or a query with the source's suite.

    Returns the GX ExpectationSuiteValidationResult.
    """
    import great_expectations as gx

    with _LOCK:
        context, datasource = _ephemeral(url)
        suite = _suite_from_file(context, source_id)
        for existing in list(datasource.assets):
            if existing.name == asset_name:
                datasource.delete_asset(asset_name)
        if table is not None:
            schema, name = table.split(".", 1)
            asset = datasource.add_table_asset(name=asset_name, table_name=name, schema_name=schema)
        else:
            asset = datasource.add_query_asset(name=asset_name, query=query)
        batch_definition = asset.add_batch_definition_whole_table("whole")
        definition = gx.ValidationDefinition(
            name=f"validate_{asset_name}", data=batch_definition, suite=suite
        )
        with contextlib.suppress(Exception):  # not there yet
            context.validation_definitions.delete(definition.name)
        definition = context.validation_definitions.add(definition)
        try:
            return definition.run(expectation_parameters=parameters, result_format=RESULT_FORMAT)
        finally:
            context.validation_definitions.delete(definition.name)
            datasource.delete_asset(asset_name)


def store_and_build_docs(result, source_id: str, run_id: str, batch_key: str) -> Path | None:
    """Store the result in the file context and rebuild the Data Docs site. Never raises."""
    try:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        with _LOCK:
            context = file_context()
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(
                    suites.suite_name(source_id)
                ),
                run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
                batch_identifier=batch_key,
            )
            result.meta["run_id"] = key.run_id
            context.validation_results_store.set(key, result)
            context.build_data_docs()
        index = settings.data_docs_dir() / "index.html"
        return index if index.exists() else settings.data_docs_dir()
    except Exception:
        log.exception("event=data_docs_failed source=%s run_id=%s", source_id, run_id)
        return None

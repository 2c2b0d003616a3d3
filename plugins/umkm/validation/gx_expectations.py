"""The one custom Great Expectations expectation of the suites: row checks that count.

GX's `UnexpectedRowsExpectation` resolves two metrics for every check: the count of the
rows its query returns and a table of up to 200 of them. On the warehouse each is a scan of
the whole batch (a check that few rows fail never reaches the 200 that would stop the second
one early), so a source's twelve row checks cost twenty-four scans. Our result format never
shows the rows (nothing personal reaches a result or Data Docs), and the quarantine selects
the full set of failing rows itself; only the count is used.

`UnexpectedRowsCountExpectation` is that expectation with the count alone: same query, same
success rule (no row returned), same `observed_value`, same renderers; one scan per check.
GX registers it as `unexpected_rows_count_expectation` when this module is imported, which
`umkm.validation.gx_run` does before it reads a suite or builds Data Docs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation


class UnexpectedRowsCountExpectation(UnexpectedRowsExpectation):
    """Expect the query to return no rows; computes only how many it returns."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        count = metrics["unexpected_rows_query.row_count"]
        return {"success": count == 0, "result": {"observed_value": count}}


EXPECTATION_TYPE = UnexpectedRowsCountExpectation.expectation_type

"""Validation of landed batches: GX suites in the database, quarantine, gating.

    outcome = validate_batch("shopee", "2017-11-15", batch_id)   # raises CriticalValidationError

See docs/VALIDATION.md for the suites, severities and the quarantine.
"""

from umkm.validation.runner import CriticalValidationError, ValidationOutcome, validate_batch

__all__ = ["CriticalValidationError", "ValidationOutcome", "validate_batch"]

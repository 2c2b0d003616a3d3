"""`umkm ingest <source_id>|--all --snapshot D [--mode M] [--no-publish] [--force]`.

Runs `umkm.ingest.ingest_source`, the sequence the DAG tasks run: extract_load; a delivery
equal to what is already published for the snapshot ends there (status `unchanged`;
`--force` validates and publishes it anyway); then validation (a critical failure skips
publish and discards the batch), then publish. On a terminal, a live `rich` display shows
records, pages, rate and retries; otherwise plain `key=value` log lines.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from umkm.connectors.errors import IngestError
from umkm.ingest import ingest_source
from umkm.loading.extract import Progress
from umkm.sources import ingest_order

log = logging.getLogger("umkm.loading")

DESCRIPTION = """\
Pull one source (or --all) for a snapshot, the same sequence the ingest DAGs run:

  1. extract and load into a batch table (an interrupted pull resumes);
  2. a delivery equal to what is already published ends here, status "unchanged"
     (--force validates and publishes it anyway);
  3. validate: failing rows go to quarantine; a critical failure discards the batch and
     leaves the published rows as they were;
  4. publish: the snapshot's rows replaced in one transaction.

On a terminal a live display shows records, pages, rate and retries; otherwise key=value
log lines. Exit code 1 when a source failed."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `ingest` subcommand to the root `umkm` parser."""
    parser = subparsers.add_parser(
        "ingest",
        help="pull sources into raw (extract, validate, publish)",
        description=DESCRIPTION,
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("source_id", nargs="?", help="a source of the registry")
    target.add_argument("--all", action="store_true", help="every source in the registry")
    parser.add_argument("--snapshot", required=True, help="reporting date YYYY-MM-DD")
    parser.add_argument(
        "--mode",
        choices=("full", "incremental"),
        default="full",
        help="incremental asks only for records updated since the published watermark",
    )
    parser.add_argument(
        "--no-publish", action="store_true", help="stop after landing the batch table"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="validate and publish even a delivery equal to what is published",
    )
    parser.add_argument("--warehouse-url", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
    return parser


class _Display:
    """Live progress on a terminal (rich), log lines otherwise."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._progress = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Display:
        if self.live:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = RichProgress(
                SpinnerColumn(),
                TextColumn("[bold]{task.fields[source]}"),
                TextColumn("{task.fields[records]:>12,} records"),
                TextColumn("{task.fields[pages]:>6} pages"),
                TextColumn("{task.fields[rate]:>9,.0f} rec/s"),
                TextColumn("{task.fields[retries]:>4} retries {task.fields[why]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, p: Progress) -> None:
        if self._progress is None:
            if p.done or p.pages % 50 == 1:
                log.info(
                    "event=progress source=%s snapshot=%s pages=%d records=%d rejected=%d "
                    "retries=%d rate=%.0f",
                    p.source_id,
                    p.snapshot,
                    p.pages,
                    p.records,
                    p.rejected,
                    p.retries,
                    p.rate,
                )
            return
        task = self._tasks.get(p.source_id)
        fields = {
            "source": p.source_id,
            "records": p.records,
            "pages": p.pages,
            "rate": p.rate,
            "retries": p.retries,
            "why": f"({p.last_retry})" if p.last_retry else "",
        }
        if task is None:
            self._tasks[p.source_id] = self._progress.add_task(p.source_id, total=None, **fields)
        else:
            self._progress.update(task, **fields)


def run(args: argparse.Namespace) -> int:
    """Entry point of `umkm ingest`; exit code 1 when any source failed."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from umkm.warehouse import warehouse_url
    from umkm.warehouse.bootstrap import schema_exit_code

    if code := schema_exit_code(args.warehouse_url or warehouse_url()):
        return code
    sources = ingest_order() if args.all else [args.source_id]
    failures = 0
    failed: list[tuple[str, str, bool]] = []  # (source, first line, the environment's fault)
    with _Display() as display:
        for source_id in sources:
            try:
                result = ingest_source(
                    source_id,
                    args.snapshot,
                    mode=args.mode,
                    force=args.force,
                    do_publish=not args.no_publish,
                    url=args.warehouse_url,
                    progress=display,
                )
            except (IngestError, KeyError, ValueError) as exc:
                failures += 1
                failed.append((source_id, str(exc).strip().splitlines()[0], _environment(exc)))
                log.error(
                    "event=ingest_failed source=%s snapshot=%s error=%r",
                    source_id,
                    args.snapshot,
                    str(exc),
                )
                continue
            if result.status == "failed":
                failures += 1
                failed.append((source_id, (result.error or "failed").splitlines()[0], False))
            if result.status == "no_data":
                log.warning(
                    "event=no_data source=%s snapshot=%s detail=%r",
                    source_id,
                    args.snapshot,
                    result.error,
                )
            log.info(
                "event=ingest source=%s snapshot=%s status=%s mode=%s rows_fetched=%d "
                "rows_loaded=%d rows_rejected=%d pages=%d retries=%d batch_id=%s",
                result.source_id,
                result.snapshot,
                result.status,
                result.mode,
                result.rows_fetched,
                result.rows_loaded,
                result.rows_rejected,
                result.pages,
                result.retries,
                result.batch_id,
            )
    if not failed:
        return 1 if failures else 0
    names = ", ".join(source for source, _, _ in failed)
    print(
        f"error: {len(failed)} of {len(sources)} sources failed ({names}): {failed[0][1]}",
        file=sys.stderr,
    )
    # 3 when only the environment stopped them (a connection not configured, the
    # warehouse or the reference missing), 1 when a source or its data did
    return 3 if all(env for _, _, env in failed) else 1


def _environment(exc: BaseException) -> bool:
    from umkm.connections import ConnectionNotConfigured
    from umkm.connectors.errors import ReferenceNotLoaded, WarehouseUnavailable

    causes = [exc, exc.__cause__, exc.__context__]
    return any(
        isinstance(c, ConnectionNotConfigured | ReferenceNotLoaded | WarehouseUnavailable)
        for c in causes
    ) or "is not configured" in str(exc)

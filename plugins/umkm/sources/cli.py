"""`umkm sources generate`: write the sources' dbt staging files from the source registry.

    umkm sources generate            write what differs (and remove what the registry dropped)
    umkm sources generate --check    only compare: exit 1 when a file differs (drift)

`--registry` and `--dbt-project` point it elsewhere (a copy of the registry, another
project folder); the defaults are `UMKM_SOURCE_REGISTRY` and `UMKM_DBT_PROJECT_DIR` when set,
else the repository's. See umkm.sources.generate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    sources = subparsers.add_parser(
        "sources",
        help="the source registry: generate the marketplaces' and lists' dbt staging files from it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = sources.add_subparsers(dest="sources_action", required=True)
    generate = actions.add_parser(
        "generate",
        help="write the generated dbt files of every marketplace (--check: compare only)",
    )
    generate.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file differs, write nothing"
    )
    generate.add_argument(
        "--registry",
        type=Path,
        help="registry YAML (default: $UMKM_SOURCE_REGISTRY, else the repository's)",
    )
    generate.add_argument(
        "--dbt-project",
        type=Path,
        help="dbt project folder (default: $UMKM_DBT_PROJECT_DIR, else the repository's)",
    )
    generate.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    from umkm.sources import generate, load_registry

    try:
        registry = load_registry(args.registry)
        if args.check:
            drifted = generate.drift(registry, args.dbt_project)
        else:
            changed = generate.write(registry, args.dbt_project)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if drifted:
            named = ", ".join(drifted[:3]) + (
                f" and {len(drifted) - 3} more" if drifted[3:] else ""
            )
            print(
                f"generated dbt files differ from the source registry ({named}): "
                f"run `{generate.COMMAND}`",
                file=sys.stderr,
            )
            return 1
        return 0
    for line in changed:
        print(f"wrote {line}")
    if not changed:
        print("generated dbt files already match the source registry")
    return 0

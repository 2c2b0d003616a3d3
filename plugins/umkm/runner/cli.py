"""`umkm ui`: the Airflow UI over the project's Airflow home (see `umkm.runner.ui`)."""

from __future__ import annotations

import argparse
import sys


def port_number(text: str) -> int:
    """A TCP port, 1-65535 (argparse type: a usage error, exit code 2, otherwise)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be above 0, not {text}")
    return seconds


def _ui(args: argparse.Namespace) -> int:
    from umkm.runner import ui

    try:
        return ui.serve(host=args.host, port=args.port, timeout=args.timeout)
    except ui.UiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def add_parser(subparsers) -> None:
    from umkm.runner import ui

    p = subparsers.add_parser(
        "ui",
        help="start the Airflow UI over the project's Airflow home and print its URL and logins",
        description=(
            "Start `airflow api-server` with the project's Airflow home (the DAGs and runs of "
            "`umkm run`; initialised if needed), wait until it answers, print the URL and the "
            "logins (admin: role admin, for engineers; viewer: role viewer, read-only), and "
            "keep it running until Ctrl-C."
        ),
    )
    p.add_argument("--port", type=port_number, default=ui.DEFAULT_PORT, help="TCP port")
    p.add_argument(
        "--host",
        default=ui.DEFAULT_HOST,
        help="address to listen on (0.0.0.0: every interface, reachable from other machines)",
    )
    p.add_argument(
        "--timeout",
        type=positive_seconds,
        default=ui.DEFAULT_TIMEOUT,
        help="seconds to wait for the api-server to answer",
    )
    p.set_defaults(func=_ui)

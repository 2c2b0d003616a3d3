"""`umkm`: the one command line for people and scripts outside the Airflow UI.

Each area of the package adds its subcommands with an `add_parser(subparsers)` function;
this module only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys

from umkm import settings

#: Modules that contribute subcommands (each has `add_parser(subparsers)`).
SUBCOMMAND_MODULES = [
    "umkm.sources.cli",
    "umkm.loading.cli",
    "umkm.validation.cli",
    "umkm.evaluation.cli",
    "umkm.report.cli",
    "umkm.stewardship.cli",
]


# --- warehouse -------------------------------------------------------------------------


def _warehouse(args: argparse.Namespace) -> int:
    """`umkm warehouse ACTION`: expected failures (the embedded server, a login that cannot
    be made, a warehouse that cannot be reached) are one line naming the fix, exit code 3."""
    import psycopg

    from umkm.warehouse.bootstrap import AnalystLoginError
    from umkm.warehouse.db import redact
    from umkm.warehouse.embedded import EmbeddedWarehouseError

    try:
        return _warehouse_action(args)
    except (EmbeddedWarehouseError, AnalystLoginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except psycopg.OperationalError as exc:
        from umkm.warehouse import warehouse_url

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        target = redact(warehouse_url(start_embedded=False))
        print(f"error: cannot reach the warehouse {target}: {first}", file=sys.stderr)
        return 3


def _analyst_password(name: str) -> str:
    """An analyst's password: `UMKM_ANALYST_PASSWORD`, else asked twice on a terminal;
    never a command-line argument (`ps` and shell histories show those)."""
    import getpass

    from umkm.warehouse.bootstrap import AnalystLoginError, check_analyst_password

    password = os.environ.get("UMKM_ANALYST_PASSWORD", "")
    if password:
        check_analyst_password(password, "UMKM_ANALYST_PASSWORD")
        return password
    if not sys.stdin.isatty():
        raise AnalystLoginError(
            f"no password for {name}: set UMKM_ANALYST_PASSWORD, or run "
            f"`umkm warehouse add-analyst {name}` on a terminal to be asked for it"
        )
    password = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("the same again: ") != password:
        raise AnalystLoginError("the two passwords differ: run the command again")
    check_analyst_password(password, "the prompt")
    return password


def _analyst_from_env(url: str) -> int:
    """The login of UMKM_ANALYST_USER / UMKM_ANALYST_PASSWORD, when set, on `url`."""
    from umkm.warehouse.bootstrap import provision_analyst_from_env

    done = provision_analyst_from_env(url)
    if done:
        print(done)
    return 0


ADD_ANALYST_USAGE = (
    "usage: umkm warehouse add-analyst NAME (the password comes from UMKM_ANALYST_PASSWORD, "
    "or a prompt on a terminal; never from the command line)"
)


def _warehouse_action(args: argparse.Namespace) -> int:
    from umkm.warehouse import connect, embedded, warehouse_url
    from umkm.warehouse.bootstrap import bootstrap
    from umkm.warehouse.db import redact, without_password

    configured = settings.configured_warehouse_url()
    action = args.action
    if action == "add-analyst":
        from umkm.warehouse.bootstrap import check_analyst_name, ensure_analyst_at, schema_exit_code

        if len(args.psql_args) != 1 or args.psql_args[0].startswith("-"):
            print(ADD_ANALYST_USAGE, file=sys.stderr)
            return 2
        name = args.psql_args[0]
        check_analyst_name(name)
        password = _analyst_password(name)
        url = warehouse_url()
        if code := schema_exit_code(url):  # the group umkm_analyst comes with the schema
            return code
        print(f"analyst login {name}: {ensure_analyst_at(url, name, password)}")
        return 0
    if configured and action == "start":
        # the configured warehouse runs elsewhere: start means make it ready
        from umkm.warehouse.bootstrap import schema_exit_code

        print(f"WAREHOUSE_URL is set ({redact(configured)}): nothing to start, bootstrapping it")
        return schema_exit_code(configured) or _analyst_from_env(configured)
    if configured and action == "stop":
        print(f"WAREHOUSE_URL is set ({redact(configured)}): nothing to stop here")
        return 0
    if action == "start":
        st = embedded.start()
        with connect(st.url) as conn:
            applied = bootstrap(conn)
        print(f"embedded warehouse running (pid {st.pid}) at {redact(st.url)}")
        if applied:
            print("bootstrap applied: " + ", ".join(applied))
        return _analyst_from_env(st.url)
    if action == "stop":
        print("stopped" if embedded.stop() else "not running")
        return 0
    if action == "status":
        if configured:
            try:
                with connect(configured) as conn:
                    version = conn.execute("show server_version").fetchone()[0]
                print(f"configured warehouse {redact(configured)}: reachable, PostgreSQL {version}")
                return 0
            except Exception as exc:  # noqa: BLE001
                print(f"configured warehouse {redact(configured)}: NOT reachable ({exc})")
                return 1
        st = embedded.status()
        print(
            json.dumps(
                {
                    "running": st.running,
                    "pid": st.pid,
                    "url": redact(st.url),
                    "pgdata": str(st.pgdata),
                }
            )
        )
        return 0 if st.running else 1
    if action == "url":
        # the password stays hidden unless asked for: the URL lands in terminals and logs
        url = warehouse_url()
        print(url if "--show-password" in args.psql_args else redact(url))
        return 0
    if action == "bootstrap":
        url = warehouse_url()
        with connect(url) as conn:
            applied = bootstrap(conn)
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
        return _analyst_from_env(url)
    if action == "psql":
        # the password goes through the environment, not the command line (`ps` shows that)
        url, password = without_password(warehouse_url())
        psql = "psql" if configured else str(embedded.psql_path())
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        return subprocess.call([psql, url, *args.psql_args], env=env)
    raise AssertionError(action)


def _add_warehouse(sub) -> None:
    p = sub.add_parser(
        "warehouse", help="manage the embedded warehouse or report the configured one"
    )
    p.add_argument(
        "action",
        choices=["start", "stop", "status", "url", "psql", "bootstrap", "add-analyst"],
        help="add-analyst NAME: a login in umkm_analyst, its password from "
        "UMKM_ANALYST_PASSWORD or a prompt",
    )
    p.add_argument(
        "psql_args",
        nargs=argparse.REMAINDER,
        help="extra arguments for psql; for url, --show-password prints the password too; "
        "for add-analyst, the login NAME",
    )
    p.set_defaults(func=_warehouse)


# --- run -------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from umkm.runner import run as runner

    try:
        summary = runner.run(
            args.snapshot,
            scale=args.scale,
            seed=args.seed,
            use_sim=not args.no_sim,
            only=args.only,
            sim_profile=args.sim_profile,
        )
    except runner.RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        details = runner.collect_summary(args.snapshot)
    except Exception as exc:  # noqa: BLE001 - a summary must not hide the run's result
        details = {"sources": {}, "bridge": []}
        print(f"(summary unavailable: {exc})", file=sys.stderr)
    runner.print_summary(summary, details)
    if not summary["ok"]:
        print(f"\nThe run failed; the Airflow task logs are in {summary['log']}", file=sys.stderr)
        return 1
    return 0


def _add_run(sub) -> None:
    from umkm.runner.run import DEFAULT_SCALE, DEFAULT_SEED

    p = sub.add_parser("run", help="run the whole pipeline for one snapshot through Airflow")
    p.add_argument("--snapshot", default=settings.HEADLINE_SNAPSHOT, help="YYYY-MM-DD")
    p.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="simulator scale")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="simulator seed")
    p.add_argument(
        "--sim-profile",
        choices=("default", "heldout"),
        default="default",
        help="the simulator's noise profile (heldout: text the matcher was not tuned on)",
    )
    p.add_argument(
        "--no-sim",
        action="store_true",
        help="use the AIRFLOW_CONN_UMKM_<SOURCE> settings in the environment",
    )
    p.add_argument("--only", nargs="*", help="run only these DAG ids")
    p.set_defaults(func=_run)


# --- airflow passthrough -----------------------------------------------------------------


def _airflow(args: argparse.Namespace) -> int:
    from umkm.runner import airflow_env
    from umkm.warehouse import warehouse_url

    env = airflow_env.airflow_env(warehouse_url())
    airflow_env.ensure_initialised(env)
    return subprocess.call([airflow_env.airflow_bin(), *args.airflow_args], env=env)


def _add_airflow(sub) -> None:
    p = sub.add_parser("airflow", help="run the airflow CLI with the project's Airflow home")
    p.add_argument("airflow_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_airflow)


# --- sim: the simulator's own command ---------------------------------------------------


def _sim(args: argparse.Namespace) -> int:
    """`umkm sim ARGS` becomes the simulator's command with ARGS (`umkm-sim ARGS`), in place
    of this process: its output, exit code and signals are the simulator's own."""
    from umkm.runner.simulator import simulator_command

    cmd = [*simulator_command(), *args.sim_args]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(cmd[0], cmd)  # noqa: S606 - a list of arguments, as subprocess takes
    except OSError as exc:
        print(f"error: cannot run the feed simulator ({' '.join(cmd)}): {exc}", file=sys.stderr)
        return 2
    return 0  # not reached


def _add_sim(sub) -> None:
    p = sub.add_parser(
        "sim",
        help="the feed simulator (serve, truth): runs its own command, umkm-sim",
        add_help=False,  # main() hands `umkm sim ...` to umkm-sim before parsing
    )
    p.add_argument("sim_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_sim)


# --- root ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="umkm",
        description="UMKM go-online warehouse: feeds, validation, entity resolution, marts.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_warehouse(sub)
    _add_run(sub)
    _add_airflow(sub)
    _add_sim(sub)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that area is not installed in this build
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sim"]:  # everything after `sim` is the simulator's, --help included
        return _sim(argparse.Namespace(sim_args=argv[1:]))
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("UMKM_STATE_DIR", str(settings.state_dir()))
    from umkm.sources import RegistryNotFound
    from umkm.transform.dbt import PiiKeyMissing

    try:
        return int(args.func(args) or 0)
    except RegistryNotFound as exc:  # UMKM_SOURCE_REGISTRY names no file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PiiKeyMissing as exc:  # an environment problem: exit 3
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

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
    "umkm.runner.cli",
]


# --- warehouse -------------------------------------------------------------------------


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


def _warehouse_action(args: argparse.Namespace) -> int:
    """`umkm warehouse ACTION`. Expected failures (the embedded server, a login that cannot
    be made, a warehouse that cannot be reached) are main()'s: one line, exit code 3."""
    from umkm.warehouse import connect, embedded, warehouse_url
    from umkm.warehouse.bootstrap import bootstrap
    from umkm.warehouse.db import redact, without_password

    configured = settings.configured_warehouse_url()
    action = args.action
    if action == "add-analyst":
        from umkm.warehouse.bootstrap import check_analyst_name, ensure_analyst_at, schema_exit_code

        if args.password is not None:
            print(
                "error: --password refused: the password comes from UMKM_ANALYST_PASSWORD "
                "or a prompt, never from the command line (ps and shell histories show it)",
                file=sys.stderr,
            )
            return 2
        name = args.name
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
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
                print(f"configured warehouse {redact(configured)}: NOT reachable ({first})")
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
        print(url if args.show_password else redact(url))
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
        extra = args.psql_args[1:] if args.psql_args[:1] == ["--"] else args.psql_args
        return subprocess.call([psql, url, *extra], env=env)
    raise AssertionError(action)


WAREHOUSE_ACTIONS = {
    "start": "start the embedded PostgreSQL and bootstrap it (with WAREHOUSE_URL set: "
    "bootstrap the configured warehouse)",
    "stop": "stop the embedded PostgreSQL (nothing to stop with WAREHOUSE_URL set)",
    "status": "whether the warehouse runs and answers (exit 1 when not)",
    "url": "print the warehouse URL, password hidden",
    "psql": "psql into the warehouse; arguments after psql go to psql (umkm warehouse psql "
    "-c 'select 1')",
    "bootstrap": "apply pending migrations and functions (idempotent)",
    "add-analyst": "create or update an analyst login in the role umkm_analyst",
}


def _add_warehouse(sub) -> None:
    p = sub.add_parser(
        "warehouse",
        help="manage the embedded warehouse or report the configured one",
        description="The warehouse: the embedded PostgreSQL under the state folder, or the "
        "one WAREHOUSE_URL names.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in WAREHOUSE_ACTIONS.items():
        a = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        a.set_defaults(func=_warehouse_action, psql_args=[])
        if name == "url":
            a.add_argument("--show-password", action="store_true", help="print the password too")
        elif name == "psql":
            a.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments for psql")
        elif name == "add-analyst":
            a.add_argument("--password", help=argparse.SUPPRESS)  # refused, see below
            a.add_argument(
                "name",
                help="the login; its password comes from UMKM_ANALYST_PASSWORD, or a prompt "
                "on a terminal (never from the command line)",
            )


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
    except runner.RunError as exc:  # the simulator or the sources' settings: environment
        print(f"error: {exc}", file=sys.stderr)
        return 3
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
    p = sub.add_parser(
        "airflow",
        help="run the airflow CLI with the project's Airflow home",
        description="Every argument goes to the airflow command (umkm airflow dags list), "
        "run with the project's Airflow home and the warehouse's settings.",
    )
    p.add_argument("airflow_args", nargs=argparse.REMAINDER, help="arguments for airflow")
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
    p.add_argument(
        "sim_args", nargs=argparse.REMAINDER, help="arguments for umkm-sim (umkm sim --help)"
    )
    p.set_defaults(func=_sim)


# --- root ------------------------------------------------------------------------------

#: exit codes (README "Exit codes")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option with a default says it (not the on/off flags)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" in text
            or action.default in (None, argparse.SUPPRESS, False, [])
            or isinstance(action, argparse._StoreConstAction)
        ):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)" if text else "default: %(default)s"
        return text


class UmkmParser(argparse.ArgumentParser):
    """The parser of `umkm` and of every subcommand (subparsers take the parent's class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """An option with a default and no help still says its default."""
        default = kwargs.get("default")
        if (
            kwargs.get("help") is None
            and args
            and str(args[0]).startswith("-")
            and default not in (None, False, [], argparse.SUPPRESS)
        ):
            kwargs["help"] = "default: %(default)s"
        return super().add_argument(*args, **kwargs)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("umkm")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = UmkmParser(
        prog="umkm",
        description="UMKM go-online warehouse: feeds, validation, entity resolution, marts.\n\n"
        "Exit codes: 0 success; 1 a data or pipeline failure; 2 a usage error; 3 the "
        "environment (warehouse unreachable or not bootstrapped, a reference or a setting "
        "missing).",
    )
    parser.add_argument("--version", action="version", version=f"umkm {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (and debug logging)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors argparse cannot see: an impossible date, a source not in the registry."""
    from umkm.naming import parse_snapshot

    for name in ("snapshot", "previous"):
        value = getattr(args, name, None)
        if isinstance(value, str):
            try:
                parse_snapshot(value)
            except ValueError as exc:
                parser.error(f"--{name} {value!r}: {exc}")
    source_id = getattr(args, "source_id", None)
    if isinstance(source_id, str):
        from umkm.sources import load_registry

        known = load_registry()
        if source_id not in known:
            parser.error(f"unknown source {source_id!r}; known sources: {', '.join(known)}")


def _environment_error(exc: BaseException) -> str | None:
    """The one-line message of an error the environment causes (exit 3), or None."""
    import psycopg

    from umkm.connections import ConnectionNotConfigured
    from umkm.connectors.errors import ReferenceNotLoaded, WarehouseUnavailable
    from umkm.report.build import NothingToReport
    from umkm.sources import RegistryNotFound
    from umkm.transform.dbt import PiiKeyMissing
    from umkm.warehouse.bootstrap import AnalystLoginError, SchemaNotCurrent
    from umkm.warehouse.embedded import EmbeddedWarehouseError

    if isinstance(
        exc,
        PiiKeyMissing
        | RegistryNotFound
        | SchemaNotCurrent
        | EmbeddedWarehouseError
        | AnalystLoginError
        | ConnectionNotConfigured
        | ReferenceNotLoaded
        | WarehouseUnavailable
        | NothingToReport,
    ):
        return str(exc)
    if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        first = str(exc).strip().splitlines()[0]
        return (
            f"the warehouse lacks what this command reads ({first}): bootstrap it "
            "(umkm warehouse bootstrap) and build it (umkm run, or the DAGs)"
        )
    if isinstance(exc, psycopg.OperationalError):
        from umkm.warehouse import warehouse_url
        from umkm.warehouse.db import redact

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        target = redact(warehouse_url(start_embedded=False))
        return (
            f"cannot reach the warehouse {target}: {first}; start it (umkm warehouse start) "
            "or check WAREHOUSE_URL"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sim"]:  # everything after `sim` is the simulator's, --help included
        return _sim(argparse.Namespace(sim_args=argv[1:]))
    parser = build_parser()
    passthrough = _passthrough(argv)
    if passthrough is not None:
        args = parser.parse_args(passthrough[0])
        args.__dict__.update(passthrough[1])
    else:
        args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose or args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("UMKM_STATE_DIR", str(settings.state_dir()))
    try:
        _check_arguments(parser, args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = _environment_error(exc)
        if message is not None:
            print(f"error: {message}", file=sys.stderr)
            return EXIT_ENVIRONMENT
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"error: {type(exc).__name__}: {first} (umkm --debug ... shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _passthrough(argv: list[str]) -> tuple[list[str], dict] | None:
    """`umkm [options] warehouse psql ARGS` and `umkm [options] airflow ARGS`: ARGS belong to
    psql or airflow, whatever they look like, except a lone -h/--help (this command's help)."""
    options = []
    rest = list(argv)
    while rest and rest[0] in ("-v", "--verbose", "--debug"):
        options.append(rest.pop(0))
    if rest[:2] == ["warehouse", "psql"] and rest[2:] not in (["-h"], ["--help"]):
        return [*options, "warehouse", "psql"], {"psql_args": rest[2:]}
    if rest[:1] == ["airflow"] and rest[1:] not in (["-h"], ["--help"], []):
        return [*options, "airflow"], {"airflow_args": rest[1:]}
    return None


if __name__ == "__main__":
    sys.exit(main())

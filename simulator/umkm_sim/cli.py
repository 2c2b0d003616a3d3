"""`umkm-sim serve|truth` and `python -m umkm_sim serve|truth` (`umkm sim ...` runs this)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from umkm_sim import config as C


def _snapshots(text: str) -> list[date]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            d = date.fromisoformat(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {part!r}") from None
        if not C.FIRST_SNAPSHOT <= d <= C.LAST_SNAPSHOT:
            raise argparse.ArgumentTypeError(
                f"{part}: snapshots run from {C.FIRST_SNAPSHOT} to {C.LAST_SNAPSHOT}"
            )
        out.append(d)
    if not out:
        raise argparse.ArgumentTypeError("no snapshot given")
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=2017, help="world seed (default 2017)")
    p.add_argument(
        "--scale", type=float, default=0.01, help="1.0 = the 2017 figures (default 0.01)"
    )
    p.add_argument(
        "--snapshot",
        type=_snapshots,
        default=[C.HEADLINE],
        help="snapshot date(s) YYYY-MM-DD[,YYYY-MM-DD...] whose truth is written",
    )
    p.add_argument(
        "--profile",
        choices=C.PROFILES,
        default="default",
        help="noise profile: how the world's text is written (default: default; heldout: "
        "other vocabularies and variations, for measuring a matcher tuned on the default)",
    )


def _serve(args: argparse.Namespace) -> int:
    from umkm_sim.config import SimConfig
    from umkm_sim.server import run
    from umkm_sim.truth import write_truth
    from umkm_sim.world import build_world

    started = time.monotonic()
    world = build_world(
        SimConfig(seed=args.seed, scale=args.scale, faults=args.faults, profile=args.profile)
    )
    print(
        f"umkm_sim: world seed={args.seed} scale={args.scale} profile={args.profile} built in "
        f"{time.monotonic() - started:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    if args.truth_out:
        target = write_truth(world, args.snapshot, Path(args.truth_out))
        print(f"umkm_sim: truth written to {target}", file=sys.stderr, flush=True)
    return run(
        world,
        base_port=args.base_port,
        host=args.host,
        advertise_host=args.advertise_host,
        env_out=Path(args.env_out) if args.env_out else None,
        faults=args.faults,
    )


def _truth(args: argparse.Namespace) -> int:
    from umkm_sim.config import SimConfig
    from umkm_sim.truth import write_truth
    from umkm_sim.world import build_world

    world = build_world(SimConfig(seed=args.seed, scale=args.scale, profile=args.profile))
    target = write_truth(world, args.snapshot, Path(args.out))
    print(f"truth written to {target}")
    return 0


def _add_commands(sub) -> None:
    serve = sub.add_parser("serve", help="serve every source over HTTP until SIGTERM")
    _common(serve)
    serve.add_argument("--faults", choices=["none", "flaky"], default="none")
    serve.add_argument(
        "--base-port", type=int, default=0, help="source i listens on P+i (0: free ports)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address")
    serve.add_argument(
        "--advertise-host", default=None, help="host name written in the connections"
    )
    serve.add_argument("--truth-out", default=None, help="also write DIR/truth/...")
    serve.add_argument("--env-out", default=None, help="also write the AIRFLOW_CONN lines here")
    serve.set_defaults(func=_serve)
    truth = sub.add_parser("truth", help="write truth/records.csv and truth/world.json")
    _common(truth)
    truth.add_argument("--out", required=True, help="output folder (truth/ is created in it)")
    truth.set_defaults(func=_truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="umkm-sim", description="The feed simulator (docs/SIMULATOR.md)."
    )
    sub = parser.add_subparsers(dest="sim_command", required=True)
    _add_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)

"""``monday-emulator``: run the local monday.com API as a server until SIGINT/SIGTERM.

The first line on stdout is machine-readable (``MONDAY_EMULATOR_URL=<url> TOKEN=<token>``) so scripts and the
demo can start the emulator on a free port and read where it listens; the next lines describe the setup for
people. The token printed is the one given with ``--token`` (a local demo token, not a monday.com secret).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from monday_emulator.cost import COST_MODELS, DEFAULT_COST_MODEL
from monday_emulator.faults import FaultConfig, FaultKind
from monday_emulator.latency import latency_from_spec
from monday_emulator.limits import PLANS, PlanLimits
from monday_emulator.server import Emulator, EmulatorConfig

_LIMIT_FIELDS = tuple(f for f in PlanLimits.__dataclass_fields__)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option maps to one :class:`EmulatorConfig` field."""
    parser = argparse.ArgumentParser(prog="monday-emulator", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port; default 8765)")
    parser.add_argument("--seed", type=int, default=42, help="data, latency and fault seed (default 42)")
    parser.add_argument("--boards", type=int, default=3, help="number of boards (default 3)")
    parser.add_argument("--items", type=int, default=1_000, help="items per board (default 1000)")
    parser.add_argument("--groups", type=int, default=4, help="groups per board (default 4)")
    parser.add_argument("--plan", choices=sorted(PLANS), default="enterprise", help="limit preset")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                        help=f"override one plan number ({', '.join(_LIMIT_FIELDS)}); 'none' disables it")
    parser.add_argument("--latency", default="instant",
                        help="instant | production | custom:base=0.5,per_object=0.0006,ceiling=60,jitter=0.2")
    parser.add_argument("--cost-model", choices=sorted(COST_MODELS), default=DEFAULT_COST_MODEL,
                        help="how queries are priced: documented (monday's published figures, default) "
                             "or heuristic (the first model: unbounded lists count 10)")
    parser.add_argument("--faults", type=float, default=0.0, help="total fault rate, mixed over all kinds")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND=RATE",
                        help=f"rate of one fault kind, on top of --faults ({', '.join(FaultKind)})")
    parser.add_argument("--slow-delay", type=float, default=75.0,
                        help="seconds a slow_response fault waits (default 75)")
    parser.add_argument("--token", default="demo-token", help="the accepted API token (default demo-token)")
    parser.add_argument("--log-requests", metavar="FILE", help="append one JSON line per request")
    parser.add_argument("--admin", action="store_true", help="enable POST /admin/<action>")
    parser.add_argument("--cursor-ttl", type=float, default=3600.0, help="cursor lifetime in seconds")
    parser.add_argument("--version-lifecycle", action="store_true",
                        help="route deprecated API versions to maintenance (monday's API versioning rules)")
    parser.add_argument("--require-version-header", action="store_true",
                        help="HTTP 400 API_VERSION_REQUIRED when API-Version is missing")
    return parser


def _limit_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in _LIMIT_FIELDS or not value:
            raise SystemExit(f"--limit expects NAME=VALUE with NAME in {', '.join(_LIMIT_FIELDS)}")
        overrides[name] = None if value.lower() == "none" else int(value)
    return overrides


def _faults(total: float, pairs: Sequence[str], slow_delay_s: float) -> FaultConfig:
    """``--faults`` spread over every kind, plus each ``--fault KIND=RATE`` on top."""
    mixed = FaultConfig.mixed(total, slow_delay_s=slow_delay_s)
    rates = {kind: rate for kind, rate in mixed.rates.items() if rate > 0}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            kind = FaultKind(name)
        except ValueError:
            raise ValueError(f"unknown fault kind {name!r}") from None
        rates[kind] = rates.get(kind, 0.0) + float(value)
    config = FaultConfig(rates, slow_delay_s=slow_delay_s)
    if config.total > 1.0 + 1e-9:
        raise ValueError("fault rates add up to more than 1")
    return config


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Validate the arguments and build the config."""
    try:
        latency = latency_from_spec(args.latency)
        faults = _faults(args.faults, args.fault, args.slow_delay)
    except ValueError as exc:
        raise SystemExit(f"monday-emulator: {exc}") from exc
    if args.groups < 1:
        raise SystemExit(f"monday-emulator: --groups must be at least 1, got {args.groups}")
    return EmulatorConfig(
        seed=args.seed, boards=args.boards, items_per_board=args.items, groups_per_board=args.groups,
        plan=args.plan,
        limit_overrides=_limit_overrides(args.limit), latency=latency, cost_model=args.cost_model,
        faults=faults, token=args.token,
        cursor_ttl_s=args.cursor_ttl, admin=args.admin, log_requests=args.log_requests,
        version_lifecycle=args.version_lifecycle, require_version_header=args.require_version_header,
    )


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, announcing the URL once the socket is bound."""
    emulator = Emulator(config)
    # The account (boards, pools of pre-rendered values, users) lives as long as the process: frozen out of
    # the collector, whose full collections otherwise walk it again and again while requests allocate and
    # drop their answers (a twentieth of the CPU of a run of 100-item pages).
    gc.freeze()
    runner = web.AppRunner(emulator.make_app(), access_log=None, shutdown_timeout=config.shutdown_timeout_s)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        bound = server.sockets[0].getsockname()[1]
        url = f"http://{host}:{bound}/v2"
        print(f"MONDAY_EMULATOR_URL={url} TOKEN={config.token}", flush=True)
        admin = "; admin at /admin/<action>" if config.admin else ""
        print(f"monday emulator: {config.boards} boards x {config.items_per_board} items "
              f"in {config.groups_per_board} groups, "
              f"plan {config.plan}, cost model {config.cost_model}, seed {config.seed}, "
              f"faults {config.faults.total:.3f}; "
              f"metrics at http://{host}:{bound}/metrics{admin}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    try:
        asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(f"monday-emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

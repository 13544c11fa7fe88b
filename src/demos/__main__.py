"""``python -m demos``: run the book's scenarios and benchmarks from a terminal.

    python -m demos list                          the landed pitfalls
    python -m demos run <pitfall> [--impl both] [--set KNOB=VALUE ...]
                                                  print each implementation's Report
    python -m demos bench <pitfall|encoder>       print metrics as JSON
    python -m demos bench encoder --peer fastembed our encoder against fastembed (ratios)
    python -m demos embed "text" "text" ...       pairwise cosine similarities (the real model)
    python -m demos compat [--out FILE] [--session NAME]
                                                  observe the version-dependent behaviours
    python -m demos doctor [--check NAME ...]     is this machine ready? PASS/WARN/FAIL lines
    python -m demos probe URL [--start CMD ...]   look for the six pitfalls in a running
                                                  embedding service (exit 0 clean, 1 found,
                                                  2 could not probe)
    python -m demos serve [--impl fixed|broken] [--host H] [--port P] [--workers N]
                                                  serve chapter 7's embedding service

Exit codes: 0 success, 1 a scenario failed to run, 2 bad usage (unknown name, bad option).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Sequence
from typing import Any

from demos import catalogue

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args) or EXIT_OK)
    except catalogue.UnknownPitfallError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos", description="Inference Pitfalls: scenarios and benchmarks."
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the landed pitfalls")
    listing.set_defaults(command=_list)

    run = commands.add_parser("run", help="run a pitfall's scenario and print Reports")
    run.add_argument("pitfall")
    run.add_argument("--impl", choices=[*catalogue.IMPLS, "both"], default="both")
    run.add_argument("--json", action="store_true", help="print Reports as JSON")
    run.add_argument(
        "--set", action="append", default=[], metavar="KNOB=VALUE", dest="knobs",
        help="pass a knob to scenario.run, e.g. --set threads=8 (repeatable)",
    )
    run.set_defaults(command=_run)

    bench = commands.add_parser("bench", help="benchmark a pitfall (or 'encoder'); JSON out")
    bench.add_argument("target")
    bench.add_argument("--peer", choices=["fastembed"],
                       help="encoder only: race this library on the same graph (ratios)")
    bench.add_argument("--spinning", action="store_true",
                       help="encoder only: session.run, allow_spinning off vs on, 1/4/8 callers")
    bench.set_defaults(command=_bench)

    embed = commands.add_parser("embed", help="pairwise cosine similarity of texts")
    embed.add_argument("texts", nargs="+")
    embed.set_defaults(command=_embed)

    compat = commands.add_parser("compat", help="observe version-dependent behaviours; JSON")
    compat.add_argument("--out", help="write the JSON to this file as well")
    compat.add_argument("--session", default="", help="the matrix session's name")
    compat.set_defaults(command=_compat)

    serve = commands.add_parser("serve", help="serve chapter 7's embedding service (HTTP)")
    serve.add_argument("--impl", choices=catalogue.IMPLS, default="fixed")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine)")
    serve.add_argument("--port", type=int, default=8000, help="default 8000; 0 picks a free one")
    serve.add_argument("--workers", type=int, default=1,
                       help="1: uvicorn; more: gunicorn with uvicorn workers")
    serve.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                       dest="knobs", help="a demos.service.settings.Settings field (repeatable)")
    serve.set_defaults(command=_serve)

    from demos import doctor as doctor_module  # stdlib imports only: cheap

    doctor = commands.add_parser("doctor", help="check this machine is ready (offline)")
    doctor_module.add_arguments(doctor)
    doctor.set_defaults(command=doctor_module.command)

    from demos.probe import cli as probe_cli  # stdlib imports only: cheap

    probe = commands.add_parser("probe", help="look for the pitfalls in a running service")
    probe_cli.add_arguments(probe)
    probe.set_defaults(command=probe_cli.command)
    return parser


def _list(args: argparse.Namespace) -> int:
    landed = catalogue.pitfalls()
    if not landed:
        print("No pitfall chapter has landed yet.")
        return EXIT_OK
    for p in landed:
        print(f"{p.chapter:>2}  {p.name:<18} {p.title}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    pitfall = catalogue.find(args.pitfall)
    impls = catalogue.IMPLS if args.impl == "both" else (args.impl,)
    knobs = _parse_knobs(args.knobs)
    reports = [pitfall.run(which, **knobs) for which in impls]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        print("\n\n".join(str(r) for r in reports))
    return EXIT_OK


def _parse_knobs(pairs: Sequence[str]) -> dict[str, Any]:
    """``["threads=8", "mode='x'"]`` -> ``{"threads": 8, "mode": "x"}`` (literals, else str)."""
    knobs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--set expects KNOB=VALUE, got {pair!r}")
        try:
            knobs[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            knobs[name] = text
    return knobs


def _bench(args: argparse.Namespace) -> int:
    if args.target == "encoder":
        from demos.models import bench as bench_encoder
        from demos.models.bench import bench_peer
        from demos.models.spinning import bench_spinning

        if args.peer and args.spinning:
            raise ValueError("--peer and --spinning are separate benches: pass one of them")
        result: Any = (bench_peer(args.peer) if args.peer
                       else bench_spinning() if args.spinning else bench_encoder())
    elif args.peer or args.spinning:
        raise ValueError("--peer and --spinning apply to the encoder only, "
                         f"got target {args.target!r}")
    else:
        pitfall = catalogue.find(args.target)
        custom = getattr(pitfall.scenario, "bench", None)
        if custom is not None:
            result = custom()
        else:  # side by side in one run: the ratios are what a noisy machine can support
            result = {which: pitfall.run(which).to_dict()["metrics"] for which in catalogue.IMPLS}
    print(json.dumps(result, indent=2, default=str))
    return EXIT_OK


def _embed(args: argparse.Namespace) -> int:
    from demos.models import format_cosines, pairwise_cosines

    print(format_cosines(*pairwise_cosines(args.texts)))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """Bind, say where, then become the server (uvicorn or gunicorn): signals reach it."""
    import os

    try:
        from demos.service import server, settings
    except ImportError as error:  # the service's pins are in requirements-runtime.txt
        print(f"error: python -m demos serve needs {error.name}: "
              f"pip install -r requirements-runtime.txt", file=sys.stderr)
        return EXIT_FAILED
    chosen = settings.Settings(**_parse_knobs(args.knobs))
    env = {**os.environ, settings.ENV_VAR: settings.to_env(args.impl, chosen)}
    sock = server.bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    argv = server.command(sock.fileno(), workers=args.workers, quiet=False,
                          drain_s=chosen.drain_s)
    print(f"serving the {args.impl} embedding service on http://{host}:{port} "
          f"(POST /v1/embeddings, GET /v1/models /healthz /readyz /metrics); "
          f"Ctrl-C or SIGTERM stops it", flush=True)
    os.execve(argv[0], argv, env)  # never returns


def _compat(args: argparse.Namespace) -> int:
    from demos import compat

    data = compat.write(args.out, session=args.session) if args.out else compat.observe_all()
    print(json.dumps(data, indent=2, sort_keys=True))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""``inference-pitfalls probe URL`` (also ``python -m demos probe URL``): the command line.

Exit status: 0 nothing found, 1 findings, 2 could not probe (unreachable, not that API, a
bad option), with a one-line reason. Progress goes to stderr, the report to stdout, and the
same findings to ``--json`` and ``--junit`` files when asked.
"""

from __future__ import annotations

import argparse
import signal
import sys

__all__ = ["APIS", "add_arguments", "command"]

#: The dialects the probe speaks (demos.probe.client.APIS; kept here so that building the
#: parser imports nothing heavy).
APIS = ("openai", "tei")

MAX_BUDGET_S = 600.0


def _positive(kind: type, upper: float | None = None):
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} > 0, got {text!r}")\
                from None
        if value <= 0 or (upper is not None and value > upper):
            bound = f" and <= {upper:g}" if upper is not None else ""
            raise argparse.ArgumentTypeError(f"expected a number > 0{bound}, got {text!r}")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the service's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api", choices=APIS, default="openai",
                        help="openai: POST /v1/embeddings (default); tei: POST /embed")
    parser.add_argument("--model", default="",
                        help="model id to send (default: the first of GET /v1/models)")
    parser.add_argument("--ready-path", default="/readyz",
                        help="readiness path (default /readyz; then /health, /healthz, /ready)")
    parser.add_argument("--start", default="", metavar="COMMAND",
                        help="start the service with this command, watch it from process "
                             "start, stop it (its process group) at the end")
    parser.add_argument("--reference", default="", metavar="FILE",
                        help="trusted embeddings of the probe's texts (see --write-texts)")
    parser.add_argument("--write-texts", default="", metavar="FILE",
                        help="write the probe's texts as JSON and exit")
    parser.add_argument("--budget-s", type=_positive(float, MAX_BUDGET_S), default=120.0,
                        help="one bound on the whole run, in seconds (default 120)")
    parser.add_argument("--timeout-s", type=_positive(float, 120.0), default=10.0,
                        help="each request's deadline; past it a request hangs (default 10)")
    parser.add_argument("--min-cosine", type=_positive(float, 1.0), default=0.9999,
                        help="answers closer than this are the same (default 0.9999)")
    parser.add_argument("--max-tokens", type=_positive(int), default=None,
                        help="the model's declared token limit, for the truncation check")
    parser.add_argument("--clients", type=_positive(int, 512), default=64,
                        help="concurrent clients in the overload check (default 64)")
    parser.add_argument("--json", default="", metavar="PATH", help="write the report as JSON")
    parser.add_argument("--junit", default="", metavar="PATH",
                        help="write the report as JUnit XML (one test case per check)")


def command(args: argparse.Namespace) -> int:
    from demos.probe.runner import probe
    from demos.probe.texts import write_texts

    if args.write_texts:
        write_texts(args.write_texts)
        print(f"wrote the probe's texts to {args.write_texts}")
        return 0
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through probe()'s finally: stops --start

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        report = probe(args.url, api=args.api, model=args.model, ready_path=args.ready_path,
                       start=args.start, reference=args.reference, budget_s=args.budget_s,
                       timeout_s=args.timeout_s, min_cosine=args.min_cosine,
                       max_tokens=args.max_tokens, clients=args.clients)
    except (KeyboardInterrupt, SystemExit) as interrupted:
        status = 130 if isinstance(interrupted, KeyboardInterrupt) else interrupted.code
        print(f"probe: interrupted (exit {status}); the report so far is partial",
              file=sys.stderr)
        partial = getattr(interrupted, "partial_report", None)
        if partial is not None:
            partial.error = partial.error or "interrupted before every check had run"
            _write(args, partial)
        return status  # type: ignore[return-value]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(report)
    _write(args, report)
    if report.error and not report.findings:
        print(f"could not probe: {report.error}", file=sys.stderr)
    return report.exit_status


def _write(args: argparse.Namespace, report: object) -> None:
    if args.json:
        report.write_json(args.json)  # type: ignore[attr-defined]
    if args.junit:
        report.write_junit(args.junit)  # type: ignore[attr-defined]

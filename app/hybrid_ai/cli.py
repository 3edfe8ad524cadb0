"""`hybrid-ai`: the gateway's command line. Each subcommand lives in the module of its concern
and keeps its heavy imports inside run(), so `hybrid-ai route` never loads Flask."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("hybrid_ai.server", "run the gateway in the foreground under gunicorn"),
    "route": ("hybrid_ai.router.cli", "score prompts (JSON lines on stdin) and print the routing decision"),
    "router": ("hybrid_ai.router.manage", "evaluate, calibrate and train routers"),
    "roi": ("hybrid_ai.roi", "cloud-only vs hybrid cost per tier, break-even volume"),
    "tw-cost-report": ("hybrid_ai.taskwarrior", "cost by model for a month from Taskwarrior records"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybrid-ai", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(module)
        except ImportError:
            p.set_defaults(_run=None, _missing=module)
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args._run is None:
        print(f"hybrid-ai {args.command}: not available in this install ({args._missing})", file=sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""`hybrid-ai route --jsonl`: score prompts offline and print the routing decision per line.

Input: JSON lines `{"prompt": "...", "system": "..."}` (system optional) on stdin.
Output: one JSON line per input line, in order: `{"score", "model", "factors", "router"}`, or
`{"line": N, "error": "..."}` for a line that is not a valid request (the run goes on and
exits 1 at the end if any line was bad).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jsonl", action="store_true", required=True, help="read JSON lines on stdin (required)")
    parser.add_argument("--tier", default="1", help="tier whose ladder maps scores to models (1..4, default 1)")
    parser.add_argument("--router", default=None, help="router name (default: the tier's router)")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="MODEL=VALUE",
        help="override a local rung's max_complexity (repeatable)",
    )


def _parse_overrides(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--threshold wants MODEL=VALUE, got {item!r}")
        out[name.strip()] = float(value)
    return out


def run(args: argparse.Namespace) -> int:
    from hybrid_ai import router as routers
    from hybrid_ai.tiers import TierError, load_tier

    try:
        tier = load_tier(args.tier)
        ladder = routers.apply_thresholds(tier["routing"]["ladder"], _parse_overrides(args.threshold))
        router = routers.get_router(args.router or tier["routing"].get("router", "heuristic"))
    except (TierError, ValueError) as exc:
        print(f"hybrid-ai route: {exc}", file=sys.stderr)
        return 2
    bad = 0
    out = sys.stdout
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("each line must be a JSON object")
            prompt, system = request.get("prompt"), request.get("system")
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError('"prompt" must be a non-empty string')
            if system is not None and not isinstance(system, str):
                raise ValueError('"system" must be a string when given')
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            bad += 1
            out.write(json.dumps({"line": number, "error": str(exc)}) + "\n")
            continue
        score = router.score(prompt, system)
        decision = {
            "score": score.value,
            "model": routers.choose_rung(score.value, ladder),
            "factors": score.factors,
            "router": score.router,
        }
        out.write(json.dumps(decision) + "\n")
    out.flush()
    if bad:
        print(f"hybrid-ai route: {bad} line(s) were not valid requests", file=sys.stderr)
    return 1 if bad else 0

"""`hybrid-ai router eval|calibrate|train`: measure routers, fit thresholds to a traffic sample,
and refit the learned router on the user's own labels."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hybrid_ai.store import LABELS as LABELS_KEY
from hybrid_ai.store import PREFIX

DEFAULT_EVAL_ROUTERS = ("random", "heuristic", "learned")

DECISION_PREFIX = PREFIX + "decision:"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="router_command", metavar="ACTION")
    sub.required = True

    ev = sub.add_parser("eval", help="APGR, CPT(50%%), CPT(80%%) and decision time per benchmark and router")
    ev.add_argument("--data", required=True, help="folder with the routing-eval files (RouteLLM format)")
    ev.add_argument(
        "--router",
        action="append",
        default=None,
        help="router to evaluate (repeatable; 'random' = all ties); default: random, heuristic, learned",
    )
    ev.add_argument(
        "--heldout",
        action="append",
        default=None,
        metavar="DIR",
        help="also evaluate every held-out set (*.jsonl of prompt, weak, strong) in DIR (repeatable)",
    )
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.add_argument("--repeats", type=int, default=5, help="timed calls per prompt (median is kept; default 5)")
    ev.set_defaults(_action=_eval)

    cal = sub.add_parser("calibrate", help="set a tier's thresholds so a share of a prompt sample goes to the cloud")
    cal.add_argument("--target-cloud-share", type=float, required=True, help="share of prompts for the cloud (0..1)")
    cal.add_argument("--prompts", required=True, help="sample: JSON lines {prompt, system} or one prompt per line")
    cal.add_argument("--tier", default="1", help="tier whose ladder is calibrated (default 1)")
    cal.add_argument("--router", default=None, help="router (default: the tier's router)")
    cal.add_argument("--write", default=None, metavar="PATH", help="write `thresholds:` YAML for the gateway config")
    cal.set_defaults(_action=_calibrate)

    tr = sub.add_parser(
        "train",
        help="refit the router on the deployment's labels (--publish: the adaptive router, through Redis)",
        description="With --publish (what the refit timer runs): read the labels from the gateway's Redis, "
        "fit the adaptive router, publish it only when it beats the live model on held-back labels, choose "
        "thresholds from the quality target, and store the quality estimate. With --out: write a learned-router "
        "model file (the older path).",
    )
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--records", help="JSON lines: decision records with rating/escalated, or {prompt, label}")
    src.add_argument("--redis", help="read the gateway's labels from this Redis URL")
    src.add_argument("--config", help="the gateway config (Redis URL, password, ladder, quality target from it)")
    tr.add_argument("--redis-password-file", default=None, help="Redis password from a file (keeps it out of ps)")
    out = tr.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="write a learned-router model file (load it with HYBRID_AI_ROUTER_MODEL)")
    out.add_argument("--publish", action="store_true", help="publish an adaptive-router refit through Redis")
    tr.add_argument("--quality-target", type=float, default=None, help="override the config's quality target")
    tr.add_argument("--tier", default=None, help="with --redis: the tier whose ladder the thresholds apply to")
    tr.add_argument("--json", action="store_true", help="with --publish: print the outcome as JSON")
    tr.add_argument("--exemplars", default=None, help="base exemplars (default: the shipped ones)")
    tr.add_argument("--user-weight", type=float, default=3.0, help="weight of one user label against one exemplar")
    tr.add_argument("--min-word-count", type=int, default=2, help="learn weights for words seen this often (0: off)")
    tr.set_defaults(_action=_train)

    rb = sub.add_parser("rollback", help="put the previous adaptive-router model back live (every gateway)")
    rsrc = rb.add_mutually_exclusive_group(required=True)
    rsrc.add_argument("--config", help="the gateway config (Redis URL and password from it)")
    rsrc.add_argument("--redis", help="the gateway's Redis URL")
    rb.add_argument("--redis-password-file", default=None, help="Redis password from a file")
    rb.set_defaults(_action=_rollback)

    sim = sub.add_parser(
        "simulate",
        help="play a labelled set as traffic through the learning router; print APGR, cloud share, quality",
    )
    sim.add_argument("--data", required=True, help='JSON lines {"prompt", "local", "cloud"} (router sim-data)')
    sim.add_argument("--labels", type=int, required=True, metavar="K", help="requests the shadow sampler labels")
    sim.add_argument("--quality-target", type=float, default=0.95, help="quality target Q (default 0.95)")
    sim.add_argument("--seed", type=int, default=0, help="shuffle and sampling seed (default 0)")
    sim.add_argument("--label-noise", type=float, default=0.0, metavar="P", help="swap a label's pair with prob. P")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(_action=_simulate)

    sd = sub.add_parser("sim-data", help="write simulate files from every labelled set given")
    sd.add_argument("--out", required=True, help="folder for one <set>.jsonl per labelled set")
    sd.add_argument("--dev", default=None, help="the routing-eval dev folder (MT-Bench, GSM8K)")
    sd.add_argument("--heldout", default=None, help="a folder of held-out sets (data/router/heldout)")
    sd.add_argument("--routerdc", default=None, help="a clone of shuhao02/RouterDC (whole RouterBench sets)")
    sd.add_argument("--alpaca-eval", default=None, help="a clone of tatsu-lab/alpaca_eval (all 805 instructions)")
    sd.set_defaults(_action=_sim_data)

    bd = sub.add_parser("build-data", help="build the decontaminated public outcome corpus (maintainers)")
    bd.add_argument("--dev", required=True, help="the routing-eval dev folder (its prompts are removed)")
    bd.add_argument("--routerdc", required=True, help="a clone of github.com/shuhao02/RouterDC (pinned commit)")
    bd.add_argument("--alpaca-eval", required=True, help="a clone of github.com/tatsu-lab/alpaca_eval (pinned commit)")
    bd.add_argument("--out", required=True, help="corpus (JSON lines); a .report.json is written beside it")
    bd.add_argument("--heldout-dir", default=None, help="also write the held-out sets here (one JSON-lines file each)")
    bd.add_argument("--hashes", default=None, help="also write the hashes of the training prompts here")
    bd.set_defaults(_action=_build_data)

    ft = sub.add_parser("fit", help="fit the shipped learned model on a corpus from build-data (maintainers)")
    ft.add_argument("--corpus", required=True, help="corpus written by `router build-data`")
    ft.add_argument("--out", required=True, help="model file (.py: the shipped module form; else JSON)")
    ft.set_defaults(_action=_fit)


def run(args: argparse.Namespace) -> int:
    try:
        return int(args._action(args) or 0)
    except (ValueError, OSError) as exc:
        print(f"hybrid-ai router {args.router_command}: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- eval


class _Constant:
    """'random': every prompt gets the same score, so the order is a fair coin (APGR 0.5)."""

    name = "random"

    def score(self, prompt: str, system: str | None = None) -> Any:
        from hybrid_ai.router import Score

        return Score(value=0.5, factors={}, router=self.name)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _rss_mb() -> float:
    """This process's resident memory now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def evaluate(
    data: str | Path, names: list[str], repeats: int = 5, heldout: list[str | Path] | None = None
) -> list[dict[str, Any]]:
    """Quality and decision time per benchmark and router. A prompt's decision time is the median
    of `repeats` timed calls; p50/p99 are taken over prompts. rss_mb: resident memory the router
    added when it was loaded and first used (its model and regex tables)."""
    from hybrid_ai import router as routers
    from hybrid_ai.router.evaldata import load_all, load_heldout
    from hybrid_ai.router.metrics import apgr, cpt, quality_curve

    benchmarks = load_all(data)
    for folder in heldout or []:
        for bench, items in load_heldout(folder).items():
            benchmarks[f"{bench} (held out)"] = items
    rows = []
    for name in names:
        before = _rss_mb()
        router = _Constant() if name == "random" else routers.get_router(name)
        router.score("warm up the router before timing")
        added = max(0.0, _rss_mb() - before)
        for bench, items in benchmarks.items():
            scores, times = [], []
            for item in items:
                runs = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    value = router.score(item.prompt).value
                    runs.append((time.perf_counter() - t0) * 1000.0)
                scores.append(value)
                times.append(sorted(runs)[len(runs) // 2])  # the prompt's median: robust to a busy CPU
            curve = quality_curve(scores, [i.weak for i in items], [i.strong for i in items])
            rows.append(
                {
                    "benchmark": bench,
                    "router": name,
                    "prompts": len(items),
                    "apgr": round(apgr(curve), 4),
                    "cpt50": round(cpt(curve, 0.5), 4),
                    "cpt80": round(cpt(curve, 0.8), 4),
                    "p50_ms": round(_percentile(times, 0.5), 4),
                    "p99_ms": round(_percentile(times, 0.99), 4),
                    "rss_mb": round(added, 1),
                }
            )
    return rows


def _eval(args: argparse.Namespace) -> int:
    rows = evaluate(args.data, args.router or list(DEFAULT_EVAL_ROUTERS), repeats=args.repeats, heldout=args.heldout)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(10, *(len(r["benchmark"]) for r in rows))
    head = (
        f"{'benchmark':<{width}} {'router':<10} {'n':>5} {'APGR':>6} {'CPT50':>6} {'CPT80':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'+RSS MB':>8}"
    )
    print(head)
    print("-" * len(head))
    order = {b: i for i, b in enumerate(dict.fromkeys(r["benchmark"] for r in rows))}
    for r in sorted(rows, key=lambda r: (order[r["benchmark"]], r["router"])):
        print(
            f"{r['benchmark']:<{width}} {r['router']:<10} {r['prompts']:>5} {r['apgr']:>6.3f} {r['cpt50']:>6.1%} "
            f"{r['cpt80']:>6.1%} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['rss_mb']:>8.1f}"
        )
    print("APGR: quality gap recovered, 0 = weak model only, 1 = strong only (random 0.5); CPT: share of")
    print("strong-model calls needed to recover 50% / 80% of the gap. Ties count as broken at random.")
    print(f"Decision time: per prompt the median of {args.repeats} calls, then p50/p99 over the prompts.")
    print("+RSS: resident memory the router added to this process when loaded (bound: 150 MB per gateway worker).")
    return 0


# ---------------------------------------------------------------- calibrate


def read_prompts(path: str | Path) -> list[tuple[str, str | None]]:
    """JSON lines with "prompt" (and optional "system"), or plain text with one prompt per line."""
    out: list[tuple[str, str | None]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                try:
                    row = json.loads(text)
                except ValueError:
                    row = None
                if isinstance(row, dict) and isinstance(row.get("prompt"), str):
                    out.append((row["prompt"], row.get("system") if isinstance(row.get("system"), str) else None))
                    continue
            out.append((text, None))
    if not out:
        raise ValueError(f"{path}: no prompts")
    return out


def calibrate(scores: list[float], ladder: list[dict[str, Any]], share: float) -> dict[str, float]:
    """Local thresholds such that about `share` of the scores reach the cloud rung (score >= the
    last local threshold), every local threshold scaled by the same factor (relative bands kept)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"--target-cloud-share must be in [0, 1], got {share}")
    local = [r for r in ladder if r.get("max_complexity") is not None]
    if not local:
        raise ValueError("the ladder has no local rung to calibrate")
    ordered = sorted(scores)
    n = len(ordered)
    # candidate cuts: between each pair of distinct neighbouring scores, and beyond both ends;
    # pick the one whose cloud share (scores >= cut) is nearest the target (ties cannot split)
    candidates = [(1.0, sum(1 for v in ordered if v >= 1.0) / n), (ordered[0] / 2, 1.0)]
    for i in range(1, n):
        if ordered[i] > ordered[i - 1]:
            candidates.append(((ordered[i - 1] + ordered[i]) / 2, (n - i) / n))
    cut = min(candidates, key=lambda c: (abs(c[1] - share), -c[0]))[0]
    cut = min(max(cut, 1e-4), 1.0)
    top = float(local[-1]["max_complexity"])
    return {r["model"]: round(max(float(r["max_complexity"]) * cut / top, 1e-6), 6) for r in local}


def _calibrate(args: argparse.Namespace) -> int:
    from hybrid_ai import router as routers
    from hybrid_ai.tiers import load_tier

    tier = load_tier(args.tier)
    ladder = tier["routing"]["ladder"]
    name = args.router or tier["routing"].get("router", "heuristic")
    router = routers.get_router(name)
    prompts = read_prompts(args.prompts)
    scores = [router.score(p, s).value for p, s in prompts]
    thresholds = calibrate(scores, ladder, args.target_cloud_share)
    new = routers.apply_thresholds(ladder, thresholds)
    picks = [routers.choose_rung(v, new) for v in scores]
    shares = {r["model"]: picks.count(r["model"]) / len(picks) for r in new}
    print(f"tier {tier['tier']}, router {name}, {len(prompts)} prompts, target cloud share {args.target_cloud_share}")
    if abs(shares["cloud"] - args.target_cloud_share) > 0.05:
        print(f"  note: many prompts share a score; the nearest reachable cloud share is {shares['cloud']:.1%}")
    for rung in new:
        limit = rung.get("max_complexity")
        band = f"< {limit:.4f}" if limit is not None else "rest"
        print(f"  {rung['model']:<16} {band:<10} {shares[rung['model']]:6.1%} of the sample")
    text = (
        f"# made by: hybrid-ai router calibrate --target-cloud-share {args.target_cloud_share} "
        f"--tier {tier['tier']} --router {name} ({len(prompts)} prompts)\n"
        f"# valid with router: {name}; reached cloud share {shares['cloud']:.3f}\n"
        f"router: {name}\n"
        "thresholds:\n" + "".join(f"  {m}: {v}\n" for m, v in thresholds.items())
    )
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        print(text, end="")
    return 0


# ---------------------------------------------------------------- train


# the cascade's verdicts on a cheap answer (hybrid_ai.cascade.judge): quality, not outages
CASCADE_REASONS = frozenset({"empty", "truncated", "refusal", "too_short", "cascade"})


def escalated(record: dict[str, Any]) -> bool:
    """Did a cascade judge a local answer too poor and escalate? (errors and timeouts do not count)"""
    if record.get("escalated"):
        return True
    for step in record.get("escalations") or []:
        if isinstance(step, dict) and step.get("reason") in CASCADE_REASONS and step.get("from") != "cloud":
            return True
    return False


def label_of(record: dict[str, Any]) -> float | None:
    """What a gateway record says about routing: 1 = needed a stronger model, 0 = the local
    answer was good, 0.5 = escalated once and then good locally, None = no routing information
    (a cloud answer rated either way, or no rating and no escalation)."""
    if "label" in record:
        return float(record["label"])
    local = record.get("model") not in (None, "cloud")
    rating = record.get("rating")
    if escalated(record):
        return 0.5 if rating == "good" and local else 1.0
    if rating == "bad" and local:
        return 1.0
    if rating == "good" and local:
        return 0.0
    return None


def records_from_file(path: str | Path) -> list[dict[str, Any]]:
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
                if isinstance(row, dict):
                    out.append(row)
    return out


def records_from_redis(url: str, password: str | None = None) -> list[dict[str, Any]]:
    """Feedback labels (list hai:router:labels) plus escalated decisions (hai:decision:*)."""
    import redis

    extra = {"password": password} if password else {}
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=10, **extra)
    seen: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for raw in client.lrange(LABELS_KEY, 0, -1):
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if isinstance(row, dict):
            rid = row.get("request_id")
            if rid:
                seen[rid] = row  # the latest rating of a request wins
            else:
                rows.append(row)
    for key in client.scan_iter(match=DECISION_PREFIX + "*", count=500):
        rid = key[len(DECISION_PREFIX) :]
        if rid in seen:
            continue
        raw = client.get(key)
        try:
            row = json.loads(raw) if raw else None
        except ValueError:
            continue
        if isinstance(row, dict) and escalated(row):
            seen[rid] = row
    client.close()
    return rows + list(seen.values())


def _redis_client(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None]:
    """(a Redis client, the gateway config when --config was given)."""
    import redis

    cfg = None
    if getattr(args, "config", None):
        from hybrid_ai import config

        cfg = config.load(args.config)
        url, password = cfg["redis"]["url"], cfg["redis"].get("password")
    else:
        url = args.redis
        password = None
        if args.redis_password_file:
            password = Path(args.redis_password_file).read_text(encoding="utf-8").strip()
    extra = {"password": password} if password else {}
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=30, **extra)
    try:
        client.ping()
    except Exception as exc:
        if type(exc).__module__.startswith("redis"):
            raise ValueError(f"cannot reach Redis at {url}: {exc}") from None
        raise
    return client, cfg


def _train_publish(args: argparse.Namespace) -> int:
    from hybrid_ai.labels import LabelStore
    from hybrid_ai.router import publish
    from hybrid_ai.tiers import load_tier

    if not (args.config or args.redis):
        raise ValueError("--publish needs --config FILE (the gateway's) or --redis URL")
    client, cfg = _redis_client(args)
    if cfg is not None:
        ladder = cfg["ladder"]
        learning = cfg["learning"]
        target = learning["quality_target"]
        confidence, min_labels = float(learning["confidence"]), int(learning["min_labels"])
    else:
        tier = load_tier(args.tier or "1")
        ladder = tier["routing"]["ladder"]
        target = tier["routing"].get("quality_target")
        confidence, min_labels = 0.95, publish.MIN_LABELS
    if args.quality_target is not None:
        target = args.quality_target
    store = LabelStore(client)
    labels = store.labels()
    live = publish.load_live(client)
    print(f"==> refit on {len(labels)} labels (live model: {live.version if live else 'shipped'})", flush=True)
    outcome = publish.learn(
        labels, ladder=ladder, target=target, live=live, confidence=confidence, min_labels=min_labels
    )
    print(outcome.reason)
    publish.publish(client, outcome, target=target, sources=store.counts())
    if outcome.estimate is not None:
        e = outcome.estimate
        print(
            f"quality ratio {e.ratio:.3f} (95% interval {e.low:.3f}-{e.high:.3f}) on {e.n} labels, "
            f"local share {e.local_share:.1%}, target {target}; thresholds {outcome.thresholds}"
        )
    if args.json:
        print(json.dumps(outcome.summary()))
    client.close()
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from hybrid_ai.router import publish

    client, _ = _redis_client(args)
    version = publish.rollback(client)
    print(f"rolled back: model {version} is live again (gateways pick it up within seconds)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from hybrid_ai.router import simdata, simulate

    rows = simdata.read(args.data)
    result = simulate.simulate(
        rows, labels=args.labels, target=args.quality_target, seed=args.seed, noise=args.label_noise
    )
    result["data"] = str(args.data)
    if args.json:
        print(json.dumps(result))
        return 0
    for k, v in result.items():
        print(f"{k:>20}: {v}")
    return 0


def _sim_data(args: argparse.Namespace) -> int:
    from hybrid_ai.router import simdata

    sets = simdata.build(args.dev, args.heldout, args.routerdc, args.alpaca_eval)
    for path, count in simdata.write(sets, args.out):
        print(f"  {path} ({count} lines)")
    return 0


def _train(args: argparse.Namespace) -> int:
    from hybrid_ai.router import learned

    if args.publish:
        return _train_publish(args)
    if args.config:
        raise ValueError("--config goes with --publish; with --out use --records or --redis")
    if args.records:
        records = records_from_file(args.records)
    elif args.redis:
        password = None
        if args.redis_password_file:
            password = Path(args.redis_password_file).read_text(encoding="utf-8").strip()
        try:
            records = records_from_redis(args.redis, password)
        except Exception as exc:  # redis errors: say what failed, no traceback
            if type(exc).__module__.startswith("redis"):
                raise ValueError(f"cannot read labels from Redis: {exc}") from None
            raise
    else:
        records = []
    user = []
    no_text = 0
    for r in records:
        label = label_of(r)
        if label is None:
            continue
        if not (isinstance(r.get("prompt"), str) and r["prompt"].strip()):
            no_text += 1  # e.g. a record that keeps only the prompt's hash
            continue
        system = r.get("system") if isinstance(r.get("system"), str) else None
        user.append((r["prompt"], system, label, args.user_weight))
    base = learned.read_exemplars(args.exemplars)
    prior = None
    if args.exemplars is None:  # adjust the shipped model (fitted on public outcomes), not just the exemplars
        from hybrid_ai.router.learned_model import MODEL

        prior = MODEL["weights"]
    model = learned.fit(base + user, min_word_count=args.min_word_count if user else 0, prior=prior)
    positives = sum(1 for u in user if u[2] >= 0.5)
    meta = {
        "made_by": "hybrid-ai router train",
        "prior": "the shipped model" if prior else "none (custom exemplars)",
        "exemplars": len(base),
        "user_labels": len(user),
        "user_needs_stronger": positives,
        "records_read": len(records),
        "skipped_without_prompt": no_text,
    }
    learned.save(model, args.out, meta)
    print(
        f"trained on {len(base)} exemplars + {len(user)} user labels ({positives} 'needs stronger') "
        f"from {len(records)} records; wrote {args.out}"
    )
    if no_text:
        print(f"note: {no_text} labelled record(s) carry no prompt text and were skipped")
    if str(args.out).endswith(".py"):
        print("wrote a Python module (the form of the shipped default); run `ruff format` on it before committing")
    else:
        print(f"use it: HYBRID_AI_ROUTER_MODEL={args.out} with router: learned")
    return 0


# ---------------------------------------------------------------- public outcome data


def _build_data(args: argparse.Namespace) -> int:
    from hybrid_ai.router import public_data

    t0 = time.monotonic()
    print("==> reading the public outcome data and removing every evaluation prompt", flush=True)
    rows, report = public_data.build(args.dev, args.routerdc, args.alpaca_eval)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    report_path = out.with_suffix(".report.json")
    report_path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for name, st in report["sources"].items():
        removed = sum(st["removed_as_eval"].values())
        print(
            f"  {name:<16} {st['repo']}@{st['commit'][:12]}: read {st['read']}, removed {removed} as evaluation "
            f"prompts {st['removed_as_eval']}, {st['duplicates']} duplicates; kept {st['kept']}"
        )
    if args.heldout_dir:
        folder = Path(args.heldout_dir)
        folder.mkdir(parents=True, exist_ok=True)
        by_bench: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row["split"] == "heldout" and row["weak"] is not None:
                by_bench.setdefault(row["benchmark"], []).append(row)
        for bench, items in sorted(by_bench.items()):
            with (folder / f"{bench}.jsonl").open("w", encoding="utf-8") as fh:
                for r in items:
                    keep = {k: r[k] for k in ("prompt", "weak", "strong", "answer") if k in r}
                    fh.write(json.dumps(keep, ensure_ascii=False) + "\n")
            print(f"  held out: {folder / (bench + '.jsonl')} ({len(items)} prompts)")
    if args.hashes:
        hashes = sorted({public_data.prompt_hash(r["prompt"]) for r in rows if r["split"] == "train"})
        Path(args.hashes).write_text("\n".join(hashes) + "\n", encoding="utf-8")
        print(f"  training-prompt hashes: {args.hashes} ({len(hashes)})")
    print(f"wrote {out} ({len(rows)} rows) and {report_path} in {time.monotonic() - t0:.1f} s")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from hybrid_ai.router import learned, outcome

    t0 = time.monotonic()
    corpus = outcome.read_corpus(args.corpus)
    report_path = Path(args.corpus).with_suffix(".report.json")
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    exemplars = learned.read_exemplars()
    print(f"==> base: the {len(exemplars)} hand-written exemplars", flush=True)
    base = learned.fit(exemplars)
    print(f"==> tuning on {sum(1 for r in corpus if r['split'] == 'train')} training rows of {args.corpus}", flush=True)
    model = outcome.train(corpus, base)
    validation = model.pop("_validation")
    meta = {
        "made_by": "hybrid-ai router build-data + fit",
        "exemplars": len(exemplars),
        "training_rows": {
            b: sum(1 for r in corpus if r["split"] == "train" and r["benchmark"] == b)
            for b in sorted({r["benchmark"] for r in corpus})
        },
        "sources": {
            name: {k: st[k] for k in ("repo", "commit", "licence", "read", "removed_as_eval", "duplicates")}
            for name, st in report.get("sources", {}).items()
        },
        "validation": validation,
    }
    learned.save(model, args.out, meta)
    print(f"wrote {args.out} in {time.monotonic() - t0:.1f} s")
    if str(args.out).endswith(".py"):
        print("wrote a Python module (the form of the shipped default); run `ruff format` on it before committing")
    return 0

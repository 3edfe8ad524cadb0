"""`hybrid-ai roi`: what a month costs cloud-only against a tier's box, and where they cross.

Every price comes from tiers/: the box's monthly price on the chosen cloud (or the product
brief's reference price), the tier's routing ladder and its cloud model's per-token prices
(tiers/cloud_models.yml). The model is deliberately simple and stated in docs/roi.md:

- a request costs `tokens_in * input_price + tokens_out * output_price` in the cloud;
- requests are simple / medium / complex (complexity bands [0, 0.3), [0.3, 0.6), [0.6, 1]),
  spread evenly within a band; a tier serves locally whatever falls below its last local
  rung's max_complexity, and sends the rest to the cloud model (or give --local-share);
- a cache hit (optional --cache-hit-rate, hybrid only: the gateway caches) costs nothing;
- the box costs its monthly price whatever the volume; local inference is otherwise free.

Pure functions compute; run() prints, writes JSON or draws the plot.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from hybrid_ai.tiers import CLOUD_RUNG, CLOUDS, TIER_NUMBERS, TierError, cloud_models, load_tier

BANDS: dict[str, tuple[float, float]] = {"simple": (0.0, 0.3), "medium": (0.3, 0.6), "complex": (0.6, 1.0)}
DEFAULT_MIX: dict[str, float] = {"simple": 0.6, "medium": 0.3, "complex": 0.1}
DEFAULT_VOLUME = 100_000
DEFAULT_TOKENS_IN = 500
DEFAULT_TOKENS_OUT = 300
BOX_PRICES = ("cloud", "reference")


class RoiError(ValueError):
    """Bad input for the calculator; the message says what to give instead."""


@dataclass(frozen=True)
class TierRoi:
    tier: int
    cloud: str
    box: str
    box_monthly_usd: float
    cloud_model: str
    cloud_usd_per_request: float
    local_share: float
    volume: int
    cloud_only_usd: float
    hybrid_usd: float
    savings_usd: float
    savings_pct: float | None
    break_even_volume: float | None  # requests/month where hybrid == cloud-only; None: never

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_mix(text: str) -> dict[str, float]:
    """`simple=0.6,medium=0.3,complex=0.1` -> shares; they must cover the three bands and sum to 1."""
    mix: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in BANDS:
            raise RoiError(f"mix: {part!r} must be NAME=SHARE with NAME one of {list(BANDS)}")
        if name in mix:
            raise RoiError(f"mix: {name} given twice")
        try:
            mix[name] = float(value)
        except ValueError:
            raise RoiError(f"mix: {name}={value!r} is not a number") from None
    return check_mix({b: mix.get(b, 0.0) for b in BANDS})


def check_mix(mix: dict[str, float]) -> dict[str, float]:
    if set(mix) != set(BANDS):
        raise RoiError(f"mix must give shares for {list(BANDS)}, got {sorted(mix)}")
    total = sum(mix.values())
    if abs(total - 100) < 1e-6:
        raise RoiError("mix shares must add up to 1, they add up to 100: give shares (0.6), not percentages (60)")
    for name, share in mix.items():
        if not math.isfinite(share) or share < 0 or share > 1:
            raise RoiError(f"mix: {name}={share:g} must be a share between 0 and 1")
    if abs(total - 1.0) > 1e-6:
        raise RoiError(f"mix shares must add up to 1, they add up to {total:g}")
    return mix


def local_ceiling(ladder: list[dict[str, Any]]) -> float:
    """The complexity below which the tier answers locally: its last local rung's max."""
    local = [r for r in ladder if r["model"] != CLOUD_RUNG]
    return max((float(r["max_complexity"]) for r in local), default=0.0)


def local_share_from_mix(ladder: list[dict[str, Any]], mix: dict[str, float]) -> float:
    """Share of requests the ladder keeps local, with complexity spread evenly in each band."""
    ceiling = local_ceiling(ladder)
    share = 0.0
    for name, (lo, hi) in BANDS.items():
        covered = max(0.0, min(hi, ceiling) - lo) / (hi - lo)
        share += mix[name] * covered
    return share


def cloud_cost_per_request(tokens_in: float, tokens_out: float, prices: dict[str, Any]) -> float:
    return (tokens_in * float(prices["input_usd_per_mtok"]) + tokens_out * float(prices["output_usd_per_mtok"])) / 1e6


def monthly_costs(volume: float, box_usd: float, per_request: float, local_share: float, cache_hit_rate: float = 0.0):
    """(cloud-only, hybrid) USD for a month of `volume` requests."""
    cloud_only = volume * per_request
    to_cloud = volume * (1.0 - cache_hit_rate) * (1.0 - local_share)
    return cloud_only, box_usd + to_cloud * per_request


def break_even_volume(box_usd: float, per_request: float, local_share: float, cache_hit_rate: float = 0.0):
    """Requests/month where the box pays for itself: box = V * cost * (share kept off the cloud)."""
    avoided = 1.0 - (1.0 - cache_hit_rate) * (1.0 - local_share)
    if avoided <= 0 or per_request <= 0:
        return None
    return box_usd / (per_request * avoided)


def check_inputs(volume: float, tokens_in: float, tokens_out: float, cloud: str, cache_hit_rate: float) -> None:
    if not isinstance(volume, int | float) or not math.isfinite(volume) or volume < 0:
        raise RoiError(f"volume must be a number of requests per month >= 0, got {volume!r}")
    for name, value in (("tokens-in", tokens_in), ("tokens-out", tokens_out)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise RoiError(f"{name} must be a number of tokens >= 0, got {value!r}")
    if tokens_in + tokens_out <= 0:
        raise RoiError("tokens-in and tokens-out cannot both be 0: a request must cost something in the cloud")
    if cloud not in CLOUDS:
        raise RoiError(f"cloud must be one of {list(CLOUDS)}, got {cloud!r}")
    if not 0 <= cache_hit_rate < 1:
        raise RoiError(f"cache-hit-rate must be in [0, 1), got {cache_hit_rate}")


def tier_roi(
    tier: int,
    *,
    cloud: str = "aws",
    volume: float = DEFAULT_VOLUME,
    tokens_in: float = DEFAULT_TOKENS_IN,
    tokens_out: float = DEFAULT_TOKENS_OUT,
    mix: dict[str, float] | None = None,
    local_share: float | None = None,
    box_price: str = "cloud",
    cloud_model: str | None = None,
    cache_hit_rate: float = 0.0,
) -> TierRoi:
    """The ROI of one tier on one cloud, every price from tiers/."""
    check_inputs(volume, tokens_in, tokens_out, cloud, cache_hit_rate)
    if box_price not in BOX_PRICES:
        raise RoiError(f"box-price must be one of {list(BOX_PRICES)}, got {box_price!r}")
    try:
        data = load_tier(tier)
    except TierError as exc:
        raise RoiError(str(exc)) from None
    if cloud_model is None:
        model, prices = data["cloud"]["model"], data["cloud"]
    else:
        priced = cloud_models()
        if cloud_model not in priced:
            raise RoiError(
                f"cloud model {cloud_model!r} has no prices in tiers/cloud_models.yml; known: {sorted(priced)}"
            )
        model, prices = cloud_model, priced[cloud_model]
    if local_share is None:
        share = local_share_from_mix(data["routing"]["ladder"], check_mix(dict(mix or DEFAULT_MIX)))
    else:
        if not 0 <= local_share <= 1:
            raise RoiError(f"local-share must be between 0 and 1, got {local_share}")
        share = float(local_share)
    box = data["box"]
    box_usd = float(box[cloud]["monthly_usd"] if box_price == "cloud" else box["reference_monthly_usd"])
    per_request = cloud_cost_per_request(tokens_in, tokens_out, prices)
    cloud_only, hybrid = monthly_costs(volume, box_usd, per_request, share, cache_hit_rate)
    savings = cloud_only - hybrid
    return TierRoi(
        tier=data["tier"],
        cloud=cloud,
        box=box[cloud]["instance_type" if cloud == "aws" else "machine_type"],
        box_monthly_usd=box_usd,
        cloud_model=model,
        cloud_usd_per_request=per_request,
        local_share=share,
        volume=int(volume),
        cloud_only_usd=cloud_only,
        hybrid_usd=hybrid,
        savings_usd=savings,
        savings_pct=(100.0 * savings / cloud_only) if cloud_only > 0 else None,
        break_even_volume=break_even_volume(box_usd, per_request, share, cache_hit_rate),
    )


def compare(tiers: list[int] | None = None, **kwargs: Any) -> list[TierRoi]:
    """tier_roi for each tier (all four by default)."""
    return [tier_roi(t, **kwargs) for t in (tiers or list(TIER_NUMBERS))]


def best(results: list[TierRoi]) -> TierRoi:
    """The cheapest way to serve the volume: the tier with the lowest hybrid cost."""
    return min(results, key=lambda r: (r.hybrid_usd, r.tier))


def curve(result: TierRoi, volumes: list[float], cache_hit_rate: float = 0.0) -> list[tuple[float, float, float]]:
    """(volume, cloud-only USD, hybrid USD) along `volumes`, for plotting."""
    return [
        (v, *monthly_costs(v, result.box_monthly_usd, result.cloud_usd_per_request, result.local_share, cache_hit_rate))
        for v in volumes
    ]


def plot_volumes(
    results: list[TierRoi], volume: float, max_volume: float | None = None, points: int = 60
) -> list[float]:
    finite = [r.break_even_volume for r in results if r.break_even_volume is not None]
    top = max_volume or max([2.0 * volume, *(1.5 * b for b in finite), 1000.0])
    return [top * i / (points - 1) for i in range(points)]


# ---- printing -------------------------------------------------------------------------------


def _money(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def _volume(x: float | None) -> str:
    return "never" if x is None else f"{math.ceil(x):,}"


def render_table(results: list[TierRoi], args: argparse.Namespace) -> str:
    first = results[0]
    lines = [
        f"ROI on {first.cloud}: {first.volume:,} requests/month, {args.tokens_in:g} tokens in / "
        f"{args.tokens_out:g} out per request; cloud model {first.cloud_model} "
        f"({_money(first.cloud_usd_per_request * 1000)} per 1,000 requests)",
        "",
        f"{'tier':>4}  {'box':<14} {'box/mo':>10} {'local':>6} {'cloud-only':>12} {'hybrid':>12} "
        f"{'savings':>12} {'saved':>6}  {'break-even req/mo':>17}",
    ]
    for r in results:
        pct = "-" if r.savings_pct is None else f"{r.savings_pct:.0f}%"
        lines.append(
            f"{r.tier:>4}  {r.box:<14} {_money(r.box_monthly_usd):>10} {r.local_share:>6.0%} "
            f"{_money(r.cloud_only_usd):>12} {_money(r.hybrid_usd):>12} {_money(r.savings_usd):>12} {pct:>6}  "
            f"{_volume(r.break_even_volume):>17}"
        )
    pick = best(results)
    lines.append("")
    if pick.savings_usd > 0:
        lines.append(
            f"cheapest at this volume: tier {pick.tier}, saving {_money(pick.savings_usd)}/month against cloud-only"
        )
    else:
        lines.append("at this volume cloud-only is cheaper than any tier's box; see the break-even volumes")
    lines.append("local = share of requests the tier's ladder answers on the box; quality is not priced in")
    return "\n".join(lines)


def draw_plot(
    results: list[TierRoi], path: str, volume: float, cache_hit_rate: float, max_volume: float | None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    volumes = plot_volumes(results, volume, max_volume)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    drawn_cloud: set[tuple[str, float]] = set()
    for r in results:
        points = curve(r, volumes, cache_hit_rate)
        key = (r.cloud_model, r.cloud_usd_per_request)
        if key not in drawn_cloud:
            drawn_cloud.add(key)
            ax.plot(volumes, [p[1] for p in points], color="black", linewidth=2, label=f"cloud only ({r.cloud_model})")
        (line,) = ax.plot(
            volumes, [p[2] for p in points], label=f"tier {r.tier} hybrid ({r.box}, {r.local_share:.0%} local)"
        )
        if r.break_even_volume is not None and r.break_even_volume <= volumes[-1]:
            ax.plot(
                [r.break_even_volume],
                [r.break_even_volume * r.cloud_usd_per_request],
                "o",
                color=line.get_color(),
            )
    ax.axvline(volume, color="grey", linestyle=":", label=f"your volume ({int(volume):,}/month)")
    ax.set_xlabel("requests per month")
    ax.set_ylabel("USD per month")
    ax.set_title(f"Cloud-only vs hybrid on {results[0].cloud} (dots: break-even)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_xlim(0, volumes[-1])
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--volume", type=float, default=DEFAULT_VOLUME, help="requests per month (default 100000)")
    parser.add_argument("--tier", type=int, action="append", choices=TIER_NUMBERS, help="only this tier (repeatable)")
    parser.add_argument("--cloud", default="aws", help="whose box price: aws or gcp (default aws)")
    parser.add_argument(
        "--mix",
        default=",".join(f"{k}={v:g}" for k, v in DEFAULT_MIX.items()),
        help="request mix as shares of simple/medium/complex (default simple=0.6,medium=0.3,complex=0.1)",
    )
    parser.add_argument("--local-share", type=float, help="share answered locally, instead of deriving it from the mix")
    parser.add_argument("--tokens-in", type=float, default=DEFAULT_TOKENS_IN, help="average input tokens (default 500)")
    parser.add_argument(
        "--tokens-out", type=float, default=DEFAULT_TOKENS_OUT, help="average output tokens (default 300)"
    )
    parser.add_argument(
        "--box-price", choices=BOX_PRICES, default="cloud", help="cloud list price or the brief's reference"
    )
    parser.add_argument("--cloud-model", help="price the cloud rung as this model (tiers/cloud_models.yml)")
    parser.add_argument("--cache-hit-rate", type=float, default=0.0, help="share of hybrid requests served from cache")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--plot", metavar="FILE.png", help="draw cost against volume for each tier")
    parser.add_argument("--max-volume", type=float, help="right edge of the plot (default: past every break-even)")


def run(args: argparse.Namespace) -> int:
    try:
        mix = parse_mix(args.mix)
        results = compare(
            sorted(set(args.tier)) if args.tier else None,
            cloud=args.cloud,
            volume=args.volume,
            tokens_in=args.tokens_in,
            tokens_out=args.tokens_out,
            mix=mix,
            local_share=args.local_share,
            box_price=args.box_price,
            cloud_model=args.cloud_model,
            cache_hit_rate=args.cache_hit_rate,
        )
        if args.max_volume is not None and args.max_volume <= 0:
            raise RoiError("max-volume must be > 0")
        if args.plot and not os.path.isdir(os.path.dirname(os.path.abspath(args.plot))):
            raise RoiError(f"cannot write the plot: the folder of {args.plot} does not exist")
        if args.plot:
            draw_plot(results, args.plot, args.volume, args.cache_hit_rate, args.max_volume)
    except RoiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the plot: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out = {
            "inputs": {
                "cloud": args.cloud,
                "volume": args.volume,
                "tokens_in": args.tokens_in,
                "tokens_out": args.tokens_out,
                "mix": None if args.local_share is not None else mix,
                "local_share": args.local_share,
                "box_price": args.box_price,
                "cache_hit_rate": args.cache_hit_rate,
            },
            "tiers": [r.as_dict() for r in results],
            "best_tier": best(results).tier,
            "plot": args.plot,
        }
        print(json.dumps(out, indent=2))
    else:
        print(render_table(results, args))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0

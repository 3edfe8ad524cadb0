"""The gateway's fleet-wide gauges: figures every gateway reads from the shared Redis at scrape
time, so each gateway of a fleet reports the same value. Panels and alerts take max() over
instances (sum() would multiply them by the number of gateways)."""

from __future__ import annotations

import re

FLEET_GAUGES = (
    "api_gateway_budget_spent_usd",
    "api_gateway_monthly_budget_usd",
    "api_gateway_quality_ratio",
    "api_gateway_quality_ratio_low",
    "api_gateway_quality_ratio_high",
    "api_gateway_quality_labels",
    "api_gateway_quality_target",
    "api_gateway_quality_local_share",
    "api_gateway_labels",
    "api_gateway_shadow_spent_today_usd",
    "api_gateway_shadow_daily_budget_usd",
    "api_gateway_router_model",
)
# `max(` or `max by (labels) (` right before the metric name.
_UNDER_MAX = re.compile(r"\bmax\s*(?:by\s*\([^()]*\)\s*)?\(\s*$")


def not_under_max(expr: str) -> list[str]:
    """The fleet-wide gauges in `expr` that are not directly aggregated with max()."""
    bad = []
    for name in FLEET_GAUGES:
        for m in re.finditer(rf"(?<![A-Za-z0-9_:]){re.escape(name)}(?![A-Za-z0-9_:])", expr):
            if not _UNDER_MAX.search(expr[: m.start()]):
                bad.append(name)
    return bad

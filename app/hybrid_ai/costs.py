"""Cost accounting from real token counts, input and output priced separately.

Pure functions: no I/O. A local call costs 0 and records what the same tokens would have cost
on the cloud model (its cloud-equivalent), so savings are measured, not asserted. A model with
no known price is an error, never silently $0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MTOK = 1_000_000


class UnknownPriceError(ValueError):
    """A model the gateway would bill has no price: a configuration error."""


@dataclass(frozen=True)
class Price:
    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def __post_init__(self) -> None:
        for value in (self.input_usd_per_mtok, self.output_usd_per_mtok):
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"prices must be non-negative numbers, got {value!r}")


@dataclass(frozen=True)
class CallCost:
    cost_usd: float
    cloud_equivalent_usd: float

    @property
    def savings_usd(self) -> float:
        return self.cloud_equivalent_usd - self.cost_usd


def tokens_cost(tokens_in: int, tokens_out: int, price: Price) -> float:
    """USD for a call: tokens_in x input price + tokens_out x output price (per million tokens)."""
    if tokens_in < 0 or tokens_out < 0:
        raise ValueError("token counts cannot be negative")
    return (tokens_in * price.input_usd_per_mtok + tokens_out * price.output_usd_per_mtok) / MTOK


class PriceBook:
    """Which models are billed (the cloud model) and which are free (local ladder models)."""

    def __init__(self, cloud_model: str, cloud_price: Price, local_models: Iterable[str]) -> None:
        self.cloud_model = cloud_model
        self.cloud_price = cloud_price
        self.local = frozenset(local_models)
        if cloud_model in self.local:
            raise ValueError(f"{cloud_model!r} cannot be both local and the cloud model")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> PriceBook:
        cloud = cfg["cloud"]
        price = Price(float(cloud["input_usd_per_mtok"]), float(cloud["output_usd_per_mtok"]))
        local = [r["model"] for r in cfg["ladder"] if r["model"] != "cloud"]
        return cls(cloud["model"], price, local)

    def price(self, model: str) -> Price:
        if model == self.cloud_model or model == "cloud":
            return self.cloud_price
        if model in self.local:
            return Price(0.0, 0.0)
        raise UnknownPriceError(f"no price for model {model!r}; known: {sorted(self.local | {self.cloud_model})}")

    def call(self, model: str, tokens_in: int, tokens_out: int, *, cached: bool = False) -> CallCost:
        """What a call cost and what the cloud would have charged for the same tokens.

        A cache hit costs 0; its cloud-equivalent still counts, as the cloud call it avoided.
        """
        cost = 0.0 if cached else tokens_cost(tokens_in, tokens_out, self.price(model))
        equivalent = tokens_cost(tokens_in, tokens_out, self.cloud_price)
        return CallCost(cost_usd=cost, cloud_equivalent_usd=equivalent)

    def estimate(self, model: str, prompt_chars: int, max_tokens: int) -> CallCost:
        """A dry-run estimate (about 4 characters per token, the full max_tokens out)."""
        tokens_in = max(1, prompt_chars // 4)
        return self.call(model, tokens_in, max_tokens)

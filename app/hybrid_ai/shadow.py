"""Shadow judgements: for a sampled share of requests, after the reply has been sent, get the
other side's answer and ask a judge whether the local answer is as good as the cloud's. The
verdict becomes a routing label (hybrid_ai.labels), so the router learns this deployment's
traffic and the kit can say how much quality routing keeps.

Opt-in (`shadow.enabled`), because it sends prompts that would have stayed on the box to the
cloud. Hard limits, each checked before any call:
- `rate`: share of requests sampled, by a hash of the request id (every gateway of a fleet
  agrees, and a replayed request id is sampled the same way);
- `daily_budget_usd`: the day's worst case is reserved in Redis before the calls (input at
  one token per byte, output at the full max_tokens) and corrected to the real cost after, so
  the budget holds even with many gateways judging at once; spend is counted apart from users'
  spend and never against the monthly budget;
- `max_concurrent`: shadow jobs running at once across the fleet (leases in Redis);
- opt-out: header `X-Hybrid-No-Shadow: 1`, or a key id listed in `shadow.exclude_keys`.
A shadow failure is logged and counted; it never changes a user's reply (it has been sent).

The judge (default: the tier's cloud model; any ladder model may judge) answers a fixed,
versioned pairwise prompt, in both orders (LLM judges favour one position): per order, the
local answer scores 1 when it is judged as good as or better than the cloud's, else 0; the
label's `local` is the mean over the two orders and `cloud` is 1.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hybrid_ai.labels import Label, LabelStore
from hybrid_ai.providers import ChatInput, Completion
from hybrid_ai.store import SHADOW_INFLIGHT, SHADOW_STATS, shadow_day_key

log = logging.getLogger(__name__)
CLOUD = "cloud"
NO_SHADOW_HEADER = "X-Hybrid-No-Shadow"
JUDGE_VERSION = "pairwise-2026-12-1"
JUDGE_MAX_TOKENS = 8
LEASE_S = 600.0  # a job that died without releasing its lease frees it after this long
JUDGE_SYSTEM = (
    "You are an impartial judge of answers to a user's request. Compare the two answers for "
    "correctness, completeness and how well they follow the request; ignore length and style "
    "unless they matter to the request. Reply with exactly one word: A if answer A is better, "
    "B if answer B is better, TIE if they are equally good."
)
JUDGE_TEMPLATE = "[Request]\n{question}\n\n[Answer A]\n{first}\n\n[Answer B]\n{second}\n\n[Verdict: A, B or TIE]"
_VERDICT = re.compile(r"\b(TIE|A|B)\b")


def judge_prompt(question: str, first: str, second: str) -> str:
    return JUDGE_TEMPLATE.format(question=question.strip(), first=first.strip(), second=second.strip())


def parse_verdict(text: str) -> str | None:
    """'A', 'B', 'TIE', or None when the reply names none of them first."""
    m = _VERDICT.search(text.strip().upper()[:200])
    return m.group(1) if m else None


def local_quality(verdict_local_first: str | None, verdict_cloud_first: str | None) -> float | None:
    """The label's `local` from the two orders' verdicts (None: neither order was readable)."""
    scores = []
    if verdict_local_first is not None:
        scores.append(0.0 if verdict_local_first == "B" else 1.0)
    if verdict_cloud_first is not None:
        scores.append(0.0 if verdict_cloud_first == "A" else 1.0)
    return sum(scores) / len(scores) if scores else None


class Sampler:
    """Picks a share of request ids, deterministically (a hash in [0, 1) below `rate`)."""

    def __init__(self, rate: float, salt: str = "") -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"shadow rate must be in [0, 1], got {rate}")
        self.rate = rate
        self.salt = salt.encode()

    def pick(self, request_id: str) -> bool:
        if self.rate <= 0.0:
            return False
        h = hashlib.blake2b(self.salt + request_id.encode(), digest_size=8).digest()
        return int.from_bytes(h, "big") / 2**64 < self.rate


@dataclass(frozen=True)
class Settings:
    enabled: bool = False
    rate: float = 0.05
    daily_budget_usd: float = 1.0
    max_concurrent: int = 1
    judge: str = CLOUD
    max_tokens: int = 512
    exclude_keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Settings:
        s = cfg.get("shadow") or {}
        return cls(
            enabled=bool(s.get("enabled", False)),
            rate=float(s.get("rate", 0.05)),
            daily_budget_usd=float(s.get("daily_budget_usd", 1.0)),
            max_concurrent=int(s.get("max_concurrent", 1)),
            judge=str(s.get("judge", CLOUD)),
            max_tokens=int(s.get("max_tokens", 512)),
            exclude_keys=frozenset(s.get("exclude_keys") or ()),
        )


def today(now: float | None = None) -> str:
    return datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y-%m-%d")


# Reserve the day's budget atomically: add the worst case, refuse (and take it back) if that
# would pass the budget. Returns the new total, or -1 when refused.
_RESERVE = """
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 259200)
if tonumber(v) > tonumber(ARGV[2]) then
  redis.call('INCRBYFLOAT', KEYS[1], -tonumber(ARGV[1]))
  return '-1'
end
return v
"""
# Take a lease if fewer than ARGV[3] are held (stale ones, older than ARGV[2], dropped first).
_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
return 1
"""


@dataclass
class Job:
    request_id: str
    prompt: str
    system: str | None
    messages: tuple[Mapping[str, str], ...]
    answered_by: str
    answer: str
    tokens_in: int
    tokens_out: int
    max_tokens: int = 512  # the user's request's: the other side answers under the same limit


class Shadow:
    """The sampler, the limits and the background judge of one gateway process."""

    def __init__(
        self,
        settings: Settings,
        *,
        providers: Mapping[str, Any],
        prices: Any,
        store: Any,
        local_models: list[str],
        metrics: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sampler = Sampler(settings.rate)
        self.providers = providers
        self.prices = prices
        self.store = store
        self.labels = LabelStore(store)
        self.local_models = local_models
        self.metrics = metrics
        self.clock = clock
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # ---- admission (on the request's thread, after the reply: cheap, never raises) ---------

    def wanted(self, *, request_id: str, key_id: str | None, opted_out: bool, answered_by: str, cached: bool) -> bool:
        s = self.settings
        if not s.enabled or opted_out or cached or answered_by not in self.providers:
            return False
        if key_id is not None and key_id in s.exclude_keys:
            return False
        return self.sampler.pick(request_id)

    def offer(self, job: Job) -> bool:
        """Start a judgement in the background if the limits allow; False when skipped."""
        try:
            lease = uuid.uuid4().hex
            if not self._take_lease(lease):
                self._count("skipped_busy")
                return False
            t = threading.Thread(target=self._run, args=(job, lease), name="shadow", daemon=True)
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()]
                self._threads.append(t)
            t.start()
            return True
        except Exception:  # admission must never fail a request
            log.exception("shadow: could not start a judgement for %s", job.request_id)
            return False

    def join(self, timeout_s: float = 30.0) -> None:
        """Wait for running judgements (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ---- limits ---------------------------------------------------------------------------

    def _take_lease(self, lease: str) -> bool:
        n = self.settings.max_concurrent
        now = self.clock()
        return bool(self.store.run(lambda r: r.eval(_LEASE, 1, SHADOW_INFLIGHT, now, LEASE_S, n, lease), 0)[0])

    def _release(self, lease: str) -> None:
        self.store.run(lambda r: r.zrem(SHADOW_INFLIGHT, lease), 0)

    def _reserve(self, usd: float) -> bool:
        if usd <= 0:
            return True
        key = shadow_day_key(today(self.clock()))
        budget = self.settings.daily_budget_usd
        value, ok = self.store.run(lambda r: r.eval(_RESERVE, 1, key, repr(usd), repr(budget)), "-1")
        return ok and float(value) >= 0

    def _adjust(self, usd: float) -> None:
        if usd:
            key = shadow_day_key(today(self.clock()))
            self.store.run(lambda r: r.incrbyfloat(key, usd), None)

    def _count(self, name: str, by: float = 1) -> None:
        if isinstance(by, float) and name == "cost_usd":
            self.store.run(lambda r: r.hincrbyfloat(SHADOW_STATS, name, by), None)
        else:
            self.store.run(lambda r: r.hincrby(SHADOW_STATS, name, int(by)), None)
        if self.metrics is not None:
            if name == "cost_usd":
                self.metrics.shadow_cost.inc(by)
            else:
                self.metrics.shadow.labels(name).inc(by)

    def _worst_case(self, model: str, text: str, max_tokens: int) -> float:
        """What a call could cost at most: a token per byte of input (plus framing), every
        output token used."""
        return self.prices.call(model, len(text.encode("utf-8")) + 64, max_tokens).cost_usd

    # ---- the judgement (background thread) -------------------------------------------------

    def _run(self, job: Job, lease: str) -> None:
        reserved = 0.0
        spent = 0.0
        try:
            s = self.settings
            local_side = job.answered_by != CLOUD
            other = CLOUD if local_side else self.local_models[0]
            question = "\n\n".join(x for x in (job.system, job.prompt) if x)
            # Reserve the worst case before any call: the other side's answer, and two judge calls
            # whose input holds that answer at up to 8 bytes a token. Once the answer is known,
            # a longer one reserves the difference first (refused: stop before judging).
            sent = (job.system or "") + "".join(str(m.get("content", "")) for m in job.messages)
            max_tokens = min(s.max_tokens, job.max_tokens)
            room = "x" * (8 * max_tokens)
            judge_planned = 2 * self._worst_case(
                s.judge, JUDGE_SYSTEM + judge_prompt(question, job.answer, room), JUDGE_MAX_TOKENS
            )
            reserved = self._worst_case(other, sent, max_tokens) + judge_planned
            if not self._reserve(reserved):
                reserved = 0.0
                self._count("skipped_budget")
                return
            inputs = ChatInput(job.messages, job.system, max_tokens, 0.0)
            got: Completion = self.providers[other].complete(inputs)
            spent += self.prices.call(other, got.tokens_in, got.tokens_out).cost_usd
            if not got.text.strip():
                self._count("failures")
                return
            judge_in = JUDGE_SYSTEM + judge_prompt(question, job.answer, got.text)
            extra = 2 * self._worst_case(s.judge, judge_in, JUDGE_MAX_TOKENS) - judge_planned
            if extra > 0:
                if not self._reserve(extra):
                    self._count("skipped_budget")
                    return
                reserved += extra
            local_answer, cloud_answer = (job.answer, got.text) if local_side else (got.text, job.answer)
            verdicts = []
            judge = self.providers[s.judge]
            for first, second in ((local_answer, cloud_answer), (cloud_answer, local_answer)):
                ask = ChatInput(
                    ({"role": "user", "content": judge_prompt(question, first, second)},),
                    JUDGE_SYSTEM,
                    JUDGE_MAX_TOKENS,
                    0.0,
                )
                verdict = judge.complete(ask)
                spent += self.prices.call(s.judge, verdict.tokens_in, verdict.tokens_out).cost_usd
                verdicts.append(parse_verdict(verdict.text))
            quality = local_quality(verdicts[0], verdicts[1])
            if quality is None:
                self._count("failures")
                return
            label = Label(
                prompt=job.prompt,
                system=job.system,
                local=quality,
                cloud=1.0,
                source="shadow",
                request_id=job.request_id,
                model=job.answered_by if local_side else other,
                judge=self.prices.cloud_model if s.judge == CLOUD else s.judge,
                judge_version=JUDGE_VERSION,
                cost_usd=round(spent, 9),
            )
            self.labels.add(label)
            self._count("labels")
        except Exception as exc:  # a shadow failure is counted and logged, nothing else
            log.warning("shadow judgement of %s failed: %s", job.request_id, exc)
            self._count("failures")
        finally:
            self._count("calls")
            if spent:
                self._count("cost_usd", float(spent))
            if reserved:
                self._adjust(spent - reserved)
            self._release(lease)

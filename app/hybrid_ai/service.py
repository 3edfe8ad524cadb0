"""The gateway's decisions around the I/O: route, look up the cache, call a backend, fall back,
escalate (cascade), enforce the cloud budget, and account for every answer.

Fallback rules:
  * a local model errors or times out -> the next rung up (which may be the cloud);
  * the cloud errors, answers 429, has no key or the monthly budget is spent -> the strongest
    local model not yet tried, and the reply is marked degraded;
  * nothing answers -> BackendsUnavailable (HTTP 503), listing each attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hybrid_ai import cascade, config, providers
from hybrid_ai import metrics as metrics_mod
from hybrid_ai.auth import ApiKeys, RateLimiter
from hybrid_ai.cache import BYPASS, ERROR, HIT, AnswerCache, cache_key
from hybrid_ai.costs import PriceBook
from hybrid_ai.events import Events
from hybrid_ai.labels import Label, LabelStore
from hybrid_ai.providers import BUDGET, NO_KEY, ChatInput, Completion, ProviderError
from hybrid_ai.router.manage import CASCADE_REASONS
from hybrid_ai.router.publish import Watcher
from hybrid_ai.shadow import Job as ShadowJob
from hybrid_ai.shadow import Settings as ShadowSettings
from hybrid_ai.shadow import Shadow
from hybrid_ai.stats import Stats, this_month
from hybrid_ai.store import PREFIX, Store

log = logging.getLogger(__name__)
CLOUD = "cloud"
AUTO = "auto"
DECISION_TTL_S = 7 * 86400


def decision_key(request_id: str) -> str:
    return f"{PREFIX}decision:{request_id}"


class RateLimited(Exception):
    def __init__(self, retry_after: int, per_minute: int) -> None:
        super().__init__(
            f"rate limit of {per_minute} requests per minute for this key reached: retry in {retry_after}s"
        )
        self.retry_after = retry_after


class BackendsUnavailable(Exception):
    def __init__(self, message: str, attempts: list[dict[str, Any]], timed_out: bool = False) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.timed_out = timed_out


@dataclass(frozen=True)
class Live:
    """The router and ladder that route requests now (swapped whole, never edited)."""

    router: Any
    ladder: list[dict[str, Any]]
    version: str


@dataclass
class ChatRequest:
    messages: tuple[dict[str, str], ...]
    system: str | None
    model: str
    max_tokens: int
    temperature: float | None
    request_id: str
    cache_bypass: bool = False
    key_id: str | None = None
    # the web layer leaves the rate limit to chat(): it shares a Redis round trip with the cache
    defer_rate_limit: bool = False
    no_shadow: bool = False  # X-Hybrid-No-Shadow: never judged in the shadow

    @property
    def prompt(self) -> str:
        """What the router scores: the user turns of the conversation."""
        return "\n".join(m["content"] for m in self.messages if m["role"] == "user")


@dataclass
class ChatResult:
    request_id: str
    text: str
    model: str
    backend: str
    upstream_model: str
    chosen_model: str
    score: float
    factors: dict[str, float]
    router: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cloud_equivalent_usd: float = 0.0
    cache: str = "miss"
    degraded: bool = False
    degraded_reason: str | None = None
    finish_reason: str = "stop"
    usage_estimated: bool = False
    escalations: list[dict[str, str]] = field(default_factory=list)
    latency_ms: float = 0.0
    upstream_ms: float = 0.0
    # bookkeeping (stats, decision record, cache write, Taskwarrior): run it after the reply
    # has been sent (the web layer registers it with response.call_on_close)
    after: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    @property
    def cached(self) -> bool:
        return self.cache == HIT

    def finish(self) -> None:
        """Run the deferred bookkeeping once (never raises: it must not fail a request)."""
        after, self.after = self.after, None
        if after is not None:
            try:
                after()
            except Exception:
                log.exception("bookkeeping failed for %s", self.request_id)


class Gateway:
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        from hybrid_ai import router as routers
        from hybrid_ai.taskwarrior import TaskWriter

        self.cfg = cfg
        self.local = config.local_models(cfg)
        self.router = routers.get_router(cfg["router"])
        # what routes a request, replaced in one assignment when a new model is published
        self.live = Live(self.router, list(cfg["ladder"]), "shipped")
        self.metrics = metrics_mod.get()
        self.providers = providers.build(cfg, self.metrics)
        self.prices = PriceBook.from_config(cfg)
        self.store = Store.from_config(cfg)
        self.cache = AnswerCache(self.store, int(cfg["redis"]["cache_ttl_s"]))
        self.stats = Stats(self.store)
        self.keys = ApiKeys(cfg["auth"]["api_keys_file"])
        self.limiter = RateLimiter(self.store, int(cfg["limits"]["rate_limit_per_minute"]))
        self.events = Events(cfg["n8n"]["webhooks"], self.store)
        tw = cfg["taskwarrior"]
        self.tasks = (
            TaskWriter(tw["taskrc"], tw["data_dir"], int(tw["batch_size"]), float(tw["flush_interval_s"]))
            if tw["enabled"]
            else None
        )
        self.budget_usd = float(cfg["cloud"]["monthly_budget_usd"])
        self.request_timeout_s = float(cfg["limits"]["request_timeout_s"])
        self.metrics.monthly_budget.set(self.budget_usd)
        self.store.on_change = lambda up: self.metrics.backend_up.labels("redis").set(1 if up else 0)
        self.metrics.backend_up.labels("redis").set(1)
        self.labels = LabelStore(self.store)
        self.shadow = Shadow(
            ShadowSettings.from_config(cfg),
            providers=self.providers,
            prices=self.prices,
            store=self.store,
            local_models=self.local,
            metrics=self.metrics,
        )
        self.watcher: Watcher | None = None
        if cfg["router"] == "adaptive":
            self.watcher = Watcher(self.store, self._use_model, float(cfg["learning"]["poll_s"]))
            self.watcher.check()  # the published model from the first request on

    # ---- the live router ----------------------------------------------------------------------

    @property
    def ladder(self) -> list[dict[str, Any]]:
        return self.live.ladder

    def _use_model(self, model: Any) -> None:
        """Route with a published adaptive-router model (None: the shipped one), and with its
        calibrated thresholds when a quality target is set."""
        from hybrid_ai import router as routers
        from hybrid_ai.router.adaptive import AdaptiveRouter

        router = AdaptiveRouter()
        router.use(model)
        ladder = list(self.cfg["ladder"])
        if model is not None and model.thresholds and self.cfg["learning"]["quality_target"] is not None:
            try:
                ladder = routers.apply_thresholds(ladder, model.thresholds)
            except ValueError as exc:
                log.error("published thresholds %s not applied: %s", model.thresholds, exc)
        self.live = Live(router, ladder, router.version)

    # ---- names ------------------------------------------------------------------------------

    def model_names(self) -> list[str]:
        return [AUTO, *self.local, CLOUD, self.cfg["cloud"]["model"]]

    def resolve(self, name: str) -> str | None:
        """A ladder model for a requested name ('auto' -> None: the router chooses)."""
        if name in (AUTO, "", None):
            return None
        if name == self.cfg["cloud"]["model"]:
            return CLOUD
        if name in self.local or name == CLOUD:
            return name
        raise KeyError(name)

    def upstream_name(self, model: str) -> str:
        return self.cfg["cloud"]["model"] if model == CLOUD else self.cfg["models"][model]["upstream_model"]

    def backend_of(self, model: str) -> str:
        return self.providers[model].backend

    # ---- routing ----------------------------------------------------------------------------

    def score(self, prompt: str, system: str | None) -> Any:
        from hybrid_ai.router import choose_rung

        if self.watcher is not None:
            self.watcher.ensure()
        live = self.live
        s = live.router.score(prompt, system)
        return s, choose_rung(s.value, live.ladder)

    def plan(self, chosen: str, cascade_mode: bool) -> tuple[list[str], list[str]]:
        """(models to try in order, local models to degrade to if the cloud cannot answer)."""
        names = [r["model"] for r in self.ladder]
        start = 0 if cascade_mode else names.index(chosen)
        chain = names[start:]
        return chain, [m for m in reversed(self.local) if m not in chain]

    def cloud_blocked(self) -> str | None:
        if not self.providers[CLOUD].ping():
            return NO_KEY
        spent = self.stats.month_cloud_cost()
        self.metrics.budget_spent.set(spent)
        if spent >= self.budget_usd:
            return BUDGET
        return None

    # ---- one call ---------------------------------------------------------------------------

    def _inputs(self, req: ChatRequest) -> ChatInput:
        return ChatInput(req.messages, req.system, req.max_tokens, req.temperature)

    def _note_failure(self, model: str, err: ProviderError) -> None:
        if err.reason not in (NO_KEY, BUDGET, providers.RATE_LIMITED):
            self.metrics.backend_up.labels(model).set(0)
            self.events.backend_down(model, self.backend_of(model), err.reason)
        log.warning("backend %s failed: %s (%s)", model, err, err.reason)

    def _candidates(
        self, chain: list[str], degrade_to: list[str], failed: list[tuple[str, ProviderError]], deadline: float
    ) -> Iterator[tuple[str, bool, str | None, ProviderError | None]]:
        """Yield (model, degraded, degraded_reason, skipped) in try order. The caller appends each
        failure to `failed`; a cloud failure (or a blocked cloud: no key, budget) turns the rest
        into degraded local answers."""
        cloud_failure: str | None = None
        for model in chain:
            if time.monotonic() > deadline:
                return
            if model == CLOUD:
                blocked = self.cloud_blocked()
                if blocked:
                    err = ProviderError(blocked, _BLOCKED[blocked])
                    failed.append((CLOUD, err))
                    cloud_failure = blocked
                    yield CLOUD, False, None, err
                    break
                yield CLOUD, False, None, None
                if failed and failed[-1][0] == CLOUD:
                    cloud_failure = failed[-1][1].reason
            else:
                yield model, False, None, None
        if cloud_failure is None:
            return
        for model in degrade_to:
            if time.monotonic() > deadline:
                return
            yield model, True, cloud_failure, None

    def _lookup(self, req: ChatRequest, ckey: str) -> tuple[dict[str, Any] | None, str]:
        """Rate limit (when deferred here) and cache lookup, in one Redis round trip."""
        get = [] if req.cache_bypass else [lambda p: p.get(ckey)]
        if req.defer_rate_limit and req.key_id is not None:
            allowed, retry_after, results, ok = self.limiter.check(req.key_id, get)
            if not allowed:
                raise RateLimited(retry_after, self.limiter.per_minute)
            if req.cache_bypass:
                return None, BYPASS
            return self.cache.decode(results[0]) if ok and results else (None, ERROR)
        if req.cache_bypass:
            return None, BYPASS
        return self.cache.get(ckey)

    def _escalate(self, escalations: list[dict[str, str]], from_model: str, to_model: str, reason: str) -> None:
        escalations.append({"from": from_model, "to": to_model, "reason": reason})
        self.metrics.fallbacks.labels(from_model, to_model, reason).inc()

    # ---- non-streaming ----------------------------------------------------------------------

    def _start(self, req: ChatRequest) -> tuple[str | None, ChatResult]:
        """Score and route a request: (the model the client named, if any; an empty result)."""
        s, routed = self.score(req.prompt, req.system)
        explicit = self.resolve(req.model)
        chosen = explicit or routed
        self.metrics.complexity.observe(s.value)
        result = ChatResult(
            request_id=req.request_id,
            text="",
            model=chosen,
            backend="",
            upstream_model="",
            chosen_model=chosen,
            score=s.value,
            factors=dict(s.factors),
            router=s.router,
        )
        return explicit, result

    def chat(self, req: ChatRequest, *, cascade_mode: bool | None = None) -> ChatResult:
        started = time.perf_counter()
        deadline = time.monotonic() + self.request_timeout_s
        explicit, result = self._start(req)
        chosen = result.chosen_model
        use_cascade = bool(self.cfg["cascade"]["enabled"]) if cascade_mode is None else cascade_mode
        use_cascade = use_cascade and explicit is None

        ckey = cache_key(
            "cascade" if use_cascade else chosen, req.messages, req.system, req.max_tokens, req.temperature
        )
        hit, cache_state = self._lookup(req, ckey)
        if hit is not None:
            return self._finish_hit(req, result, hit, started)
        self.metrics.cache.labels(cache_state).inc()
        result.cache = cache_state

        chain, degrade_to = self.plan(chosen, use_cascade)
        failed: list[tuple[str, ProviderError]] = []
        attempts: list[dict[str, Any]] = []
        rejected: list[tuple[str, Completion]] = []  # answers the cascade's checks turned down
        inputs = self._inputs(req)
        previous: tuple[str, str] | None = None
        answer: tuple[str, Completion] | None = None
        for model, degraded, why, skipped in self._candidates(chain, degrade_to, failed, deadline):
            if skipped is not None:
                attempts.append({"model": model, "error": skipped.reason, "detail": str(skipped)})
                previous = (model, skipped.reason)
                continue
            if previous is not None:
                self._escalate(result.escalations, previous[0], model, previous[1])
            try:
                completion = self.providers[model].complete(inputs)
            except ProviderError as err:
                failed.append((model, err))
                self._note_failure(model, err)
                attempts.append({"model": model, "error": err.reason, "detail": str(err)})
                previous = (model, err.reason)
                continue
            self.metrics.backend_up.labels(model).set(1)
            if degraded:
                result.degraded, result.degraded_reason = True, why
            verdict = cascade.judge(req.prompt, completion.text, completion.finish_reason) if use_cascade else None
            if verdict and model != chain[-1] and not degraded:
                rejected.append((model, completion))
                attempts.append({"model": model, "rejected": verdict})
                previous = (model, verdict)
                continue
            answer = (model, completion)
            break
        if answer is None and rejected:
            # the cascade turned a local answer down and nothing better came: serve the best one
            answer = rejected.pop()
            result.degraded = True
            result.degraded_reason = previous[1] if previous else "cascade"
            if previous is not None and previous[0] != answer[0]:
                self._escalate(result.escalations, previous[0], answer[0], previous[1])
        extra_cost = 0.0
        for model, completion in rejected:  # what the turned-down answers cost still counts
            c = self.prices.call(model, completion.tokens_in, completion.tokens_out)
            extra_cost += c.cost_usd
            self._account_tokens(model, completion, c)
        if answer is None:
            self._record_failure(req, result, started)
            timed_out = time.monotonic() > deadline
            detail = "; ".join(f"{a['model']}: {a.get('detail') or a.get('error')}" for a in attempts)
            msg = "no backend could answer" + (f" within {self.request_timeout_s:g}s" if timed_out else "")
            raise BackendsUnavailable(f"{msg} ({detail})", attempts, timed_out)

        model, completion = answer
        c = self.prices.call(model, completion.tokens_in, completion.tokens_out)
        result.model = model
        result.backend = self.backend_of(model)
        result.upstream_model = self.upstream_name(model)
        result.text = completion.text
        result.tokens_in, result.tokens_out = completion.tokens_in, completion.tokens_out
        result.finish_reason = completion.finish_reason
        result.usage_estimated = completion.usage_estimated
        result.upstream_ms = completion.upstream_ms
        result.cost_usd = c.cost_usd + extra_cost
        result.cloud_equivalent_usd = c.cloud_equivalent_usd
        self._account_tokens(model, completion, c)
        result.latency_ms = (time.perf_counter() - started) * 1000
        put = None if result.degraded else (ckey, _cacheable(result))
        result.after = lambda: self._record(req, result, cloud_cost=result.cost_usd, cache_put=put)
        return result

    def _account_tokens(self, model: str, completion: Completion, c: Any) -> None:
        self.metrics.tokens.labels(model, "in").inc(completion.tokens_in)
        self.metrics.tokens.labels(model, "out").inc(completion.tokens_out)
        if c.cost_usd:
            self.metrics.cost.labels(model).inc(c.cost_usd)

    def _finish_hit(self, req: ChatRequest, result: ChatResult, hit: dict[str, Any], started: float) -> ChatResult:
        self.metrics.cache.labels(HIT).inc()
        result.cache = HIT
        result.text = str(hit.get("text", ""))
        result.model = str(hit.get("model", result.chosen_model))
        result.upstream_model = str(hit.get("upstream_model", ""))
        result.backend = "cache"
        result.tokens_in = int(hit.get("tokens_in", 0))
        result.tokens_out = int(hit.get("tokens_out", 0))
        result.finish_reason = str(hit.get("finish_reason", "stop"))
        c = self.prices.call(result.model, result.tokens_in, result.tokens_out, cached=True)
        result.cost_usd, result.cloud_equivalent_usd = c.cost_usd, c.cloud_equivalent_usd
        result.latency_ms = (time.perf_counter() - started) * 1000
        result.after = lambda: self._record(req, result, cloud_cost=0.0)
        return result

    def _record(
        self,
        req: ChatRequest,
        result: ChatResult,
        *,
        cloud_cost: float,
        status: str = "200",
        cache_put: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        m = self.metrics
        m.requests.labels(result.model, result.backend, status).inc()
        m.duration.labels(result.backend).observe(result.latency_ms / 1000)
        if result.cloud_equivalent_usd:
            m.cloud_equivalent.labels(result.model).inc(result.cloud_equivalent_usd)
        record = {
            "request_id": req.request_id,
            "time": time.time(),
            "prompt_sha256": hashlib.sha256(req.prompt.encode("utf-8")).hexdigest(),
            "score": result.score,
            "factors": result.factors,
            "router": result.router,
            "chosen_model": result.chosen_model,
            "model": result.model,
            "backend": result.backend,
            "escalations": result.escalations,
            "degraded": result.degraded,
            "cache": result.cache,
            "cost_usd": result.cost_usd,
            "cloud_equivalent_usd": result.cloud_equivalent_usd,
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "key_id": req.key_id,
        }
        if self.cfg["decisions"]["keep_prompts"]:
            record["prompt"] = req.prompt
            record["system"] = req.system
        blob = json.dumps(record, separators=(",", ":"))
        extra: list[Callable[[Any], Any]] = [lambda p: p.set(decision_key(req.request_id), blob, ex=DECISION_TTL_S)]
        cascaded = any(e.get("reason") in CASCADE_REASONS and e.get("from") != CLOUD for e in result.escalations)
        if cascaded and self.cfg["decisions"]["keep_prompts"]:  # the cascade turned a local answer down
            extra.extend(
                self.labels.add_commands(
                    Label(req.prompt, 0.0, 1.0, "cascade", req.request_id, req.system, result.escalations[0]["from"])
                )
            )
        if cache_put is not None:
            extra.append(self.cache.put_command(*cache_put))
        self.stats.record(
            result.model,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            cost_usd=result.cost_usd,
            cloud_equivalent_usd=result.cloud_equivalent_usd,
            cache=result.cache,
            degraded=result.degraded,
            cloud_cost_usd=cloud_cost,
            extra=extra,
            urgent=cache_put is not None or cloud_cost > 0,
        )
        if cloud_cost:
            spent = self.stats.month_cloud_cost()
            m.budget_spent.set(spent)
            self.events.budget(spent, self.budget_usd, this_month())
        if status == "200" and self.shadow.wanted(
            request_id=req.request_id,
            key_id=req.key_id,
            opted_out=req.no_shadow,
            answered_by=result.model,
            cached=result.cache == HIT or result.degraded,
        ):
            self.shadow.offer(
                ShadowJob(
                    req.request_id,
                    req.prompt,
                    req.system,
                    req.messages,
                    result.model,
                    result.text,
                    result.tokens_in,
                    result.tokens_out,
                    req.max_tokens,
                )
            )
        if self.tasks is not None:
            from hybrid_ai.taskwarrior import record as tw_record

            self.tasks.submit(
                tw_record(
                    req.request_id,
                    result.model,
                    result.backend,
                    result.score,
                    result.cost_usd,
                    result.cloud_equivalent_usd,
                    result.tokens_in,
                    result.tokens_out,
                )
            )

    def _record_failure(self, req: ChatRequest, result: ChatResult, started: float) -> None:
        self.metrics.requests.labels(result.chosen_model, "none", "503").inc()
        self.metrics.duration.labels("none").observe(time.perf_counter() - started)

    # ---- streaming --------------------------------------------------------------------------

    def chat_stream(self, req: ChatRequest) -> Iterator[tuple[str, Any]]:
        """Yields ("delta", text) pieces, then ("done", ChatResult) or ("error", message).

        Fallback happens until the first piece of text arrives; after that the answer is
        committed (a failure mid-stream ends it with an error event). Cascade mode does not
        apply to streams: an answer cannot be judged before it is sent.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + self.request_timeout_s
        _, result = self._start(req)
        chosen = result.chosen_model
        ckey = cache_key(chosen, req.messages, req.system, req.max_tokens, req.temperature)
        try:
            hit, cache_state = self._lookup(req, ckey)
        except RateLimited as exc:
            yield "limited", exc
            return
        if hit is not None:
            done = self._finish_hit(req, result, hit, started)
            done.finish()
            yield "meta", done
            yield "delta", done.text
            yield "done", done
            return
        self.metrics.cache.labels(cache_state).inc()
        result.cache = cache_state
        chain, degrade_to = self.plan(chosen, False)
        failed: list[tuple[str, ProviderError]] = []
        previous: tuple[str, str] | None = None
        inputs = self._inputs(req)
        for model, degraded, why, skipped in self._candidates(chain, degrade_to, failed, deadline):
            if skipped is not None:
                previous = (model, skipped.reason)
                continue
            if previous is not None:
                self._escalate(result.escalations, previous[0], model, previous[1])
            gen = self.providers[model].stream(inputs)
            try:
                first = next(gen)
            except ProviderError as err:
                failed.append((model, err))
                self._note_failure(model, err)
                previous = (model, err.reason)
                continue
            except StopIteration:
                first = providers.Delta(done=True)
            self.metrics.backend_up.labels(model).set(1)
            result.model, result.backend = model, self.backend_of(model)
            result.upstream_model = self.upstream_name(model)
            if degraded:
                result.degraded, result.degraded_reason = True, why
            yield "meta", result
            pieces: list[str] = []
            final = first if first.done else None
            try:
                if not first.done:
                    pieces.append(first.text)
                    yield "delta", first.text
                    for delta in gen:
                        if delta.done:
                            final = delta
                            break
                        pieces.append(delta.text)
                        yield "delta", delta.text
            except ProviderError as err:
                self._note_failure(model, err)
                result.text = "".join(pieces)
                result.finish_reason = "error"
                self._close_stream(req, result, None, started)
                yield "error", f"{model} failed mid-answer: {err}"
                return
            finally:
                gen.close()
            result.text = "".join(pieces)
            put = (ckey, _cacheable(result)) if not result.degraded and final is not None else None
            self._close_stream(req, result, final, started, put)
            yield "done", result
            return
        self._record_failure(req, result, started)
        reasons = "; ".join(f"{m}: {e}" for m, e in failed)
        yield "error", f"no backend could answer ({reasons})"

    def _close_stream(self, req: ChatRequest, result: ChatResult, final: Any, started: float, put: Any = None) -> None:
        if final is not None:
            result.tokens_in, result.tokens_out = final.tokens_in, final.tokens_out
            result.finish_reason = final.finish_reason or "stop"
            result.usage_estimated = final.usage_estimated
        else:
            result.tokens_out = max(result.tokens_out, providers.estimate_tokens(result.text))
            result.tokens_in = providers.estimate_tokens(req.prompt + (req.system or ""))
            result.usage_estimated = True
        c = self.prices.call(result.model, result.tokens_in, result.tokens_out)
        result.cost_usd, result.cloud_equivalent_usd = c.cost_usd, c.cloud_equivalent_usd
        self._account_tokens(result.model, Completion("", result.tokens_in, result.tokens_out), c)
        result.latency_ms = (time.perf_counter() - started) * 1000
        self._record(req, result, cloud_cost=result.cost_usd, cache_put=put)

    # ---- quality -----------------------------------------------------------------------------

    def quality(self) -> dict[str, Any]:
        """What the labels say about the quality routing keeps (from the last refit), the labels
        by source, and the shadow judgements' spend: /api/v1/stats and /metrics show it."""
        from hybrid_ai.router.publish import read_quality
        from hybrid_ai.shadow import today
        from hybrid_ai.store import SHADOW_STATS, shadow_day_key

        def read(r: Any) -> tuple[Any, Any, Any]:
            pipe = r.pipeline(transaction=False)
            pipe.hgetall(SHADOW_STATS)
            pipe.get(shadow_day_key(today()))
            shadow, spent = pipe.execute()
            return read_quality(r), shadow, spent

        (refit, shadow, spent), ok = self.store.run(read, (None, {}, None))
        est = (refit or {}).get("estimate")
        s = self.shadow.settings
        shadow = shadow or {}
        return {
            "complete": ok,
            "router": self.cfg["router"],
            "model_version": self.live.version,
            "target": self.cfg["learning"]["quality_target"],
            "estimate": est,
            "refit": {k: refit.get(k) for k in ("time", "reason", "published", "model_version", "holdout")}
            if refit
            else None,
            "labels_by_source": self.labels.counts() if ok else {},
            "shadow": {
                "enabled": s.enabled,
                "rate": s.rate,
                "judge": s.judge,
                "daily_budget_usd": s.daily_budget_usd,
                "spent_today_usd": round(max(0.0, float(spent or 0.0)), 9),
                "spent_total_usd": round(float(shadow.get("cost_usd", 0.0) or 0.0), 9),
                **{
                    k: int(shadow.get(k, 0) or 0)
                    for k in ("calls", "labels", "failures", "skipped_budget", "skipped_busy")
                },
            },
        }

    # ---- health -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        deps: dict[str, Any] = {"redis": {"up": self.store.ping(), "url": _redact(self.store.url)}}
        self.metrics.backend_up.labels("redis").set(1 if deps["redis"]["up"] else 0)
        for model in self.local:
            p = self.providers[model]
            up = p.ping()
            self.metrics.backend_up.labels(model).set(1 if up else 0)
            deps[model] = {"up": up, "backend": p.backend, "upstream_model": self.upstream_name(model)}
            if hasattr(p, "health"):  # several replicas: each one's state, in flight, latency
                deps[model]["replicas"] = p.health()
        cloud = self.providers[CLOUD]
        deps[CLOUD] = {"up": cloud.ping(), "backend": "anthropic", "model": self.cfg["cloud"]["model"]}
        if not cloud.ping():
            deps[CLOUD]["detail"] = "no API key: cloud requests are served locally (degraded)"
        if self.tasks is not None:
            deps["taskwarrior"] = {"up": True, "written": self.tasks.written, "dropped": self.tasks.dropped}
        local_up = any(deps[m]["up"] for m in self.local)
        status = "ok" if all(d["up"] for d in deps.values()) else ("degraded" if local_up or cloud.ping() else "down")
        return {"status": status, "dependencies": deps}

    def close(self) -> None:
        self.shadow.join(5.0)
        for p in self.providers.values():
            p.close()
        if self.tasks is not None:
            self.tasks.close()
        self.store.close()


SHADOW_COUNTS = ("calls", "labels", "failures", "skipped_budget", "skipped_busy")
_BLOCKED = {NO_KEY: "no Anthropic API key configured", BUDGET: "monthly cloud budget spent"}


def _cacheable(result: ChatResult) -> dict[str, Any]:
    return {
        "text": result.text,
        "model": result.model,
        "upstream_model": result.upstream_model,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "finish_reason": result.finish_reason,
    }


def _redact(url: str) -> str:
    from urllib.parse import urlparse

    p = urlparse(url)
    if p.password:
        return url.replace(f":{p.password}@", ":***@")
    return url

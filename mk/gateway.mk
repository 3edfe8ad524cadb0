# The routing gateway: benchmark (overhead against a local upstream, cache-hit throughput).
GATEWAY_BENCH_ARGS ?=
PEER_BENCH_ARGS ?=

BENCH_TARGETS += bench-gateway

.PHONY: bench-gateway

bench-gateway: setup ## Gateway vs the upstream alone: routed req/s at c=8/32, cache hits, added ms, server CPU per request
	@command -v wrk >/dev/null || { echo "bench-gateway: wrk missing (scripts/host-prereqs.sh installs it)"; exit 2; }
	@echo "==> gateway benchmark (figures printed; targets: routed >= 1200 req/s, cache hits >= 3000 req/s, added p50 <= 1 ms / p99 <= 3 ms)"
	$(PY) bench/gateway_bench.py $(GATEWAY_BENCH_ARGS)

.PHONY: bench-peer
bench-peer: setup ## The gateway beside LiteLLM's proxy (own throw-away venv from PyPI) on the same upstream: req/s and the ratio
	@command -v wrk >/dev/null || { echo "bench-peer: wrk missing (make setup installs it)"; exit 2; }
	$(PY) bench/peer_bench.py $(PEER_BENCH_ARGS)

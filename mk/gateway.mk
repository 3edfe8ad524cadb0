# The routing gateway: benchmark (overhead against a local upstream, cache-hit throughput).
GATEWAY_BENCH_ARGS ?=

BENCH_TARGETS += bench-gateway

.PHONY: bench-gateway

bench-gateway: setup ## Gateway overhead (p50/p99 added ms) and cache-hit throughput (req/s) with real Redis + llama.cpp
	@command -v wrk >/dev/null || { echo "bench-gateway: wrk missing (scripts/host-prereqs.sh installs it)"; exit 2; }
	@echo "==> gateway benchmark (figures printed; targets: p50 <= 1 ms, p99 <= 5 ms added; >= 1500 req/s)"
	$(PY) bench/gateway_bench.py $(GATEWAY_BENCH_ARGS)

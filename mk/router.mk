# Router quality: APGR / CPT and decision time of every router on the RouteLLM dev data.
ROUTER_EVAL_DATA ?= $(CURDIR)/../shared/data/routing-eval

BENCH_TARGETS += bench-router

.PHONY: bench-router

bench-router: setup ## Router quality (APGR, CPT50/80, p50/p99 decision ms) on ROUTER_EVAL_DATA
	@if [ ! -d "$(ROUTER_EVAL_DATA)" ]; then \
	  echo "bench-router: no data at $(ROUTER_EVAL_DATA) (set ROUTER_EVAL_DATA=DIR)"; exit 2; fi
	@echo "==> router quality on $(ROUTER_EVAL_DATA)"
	$(PY) -m hybrid_ai.cli router eval --data "$(ROUTER_EVAL_DATA)"

# Router quality: APGR / CPT and decision time of every router on the RouteLLM dev data.
ROUTER_EVAL_DATA ?= $(CURDIR)/../shared/data/routing-eval
# Labelled sets held out of the router's training (data/router/SOURCES.md says where they come from).
ROUTER_HELDOUT ?= $(CURDIR)/data/router/heldout

# Simulate files for the learning curves (`router sim-data`); ROUTERDC / ALPACA_EVAL (clones at the
# commits data/router/SOURCES.md names) add the whole RouterBench and AlpacaEval sets.
ROUTER_SIM_DATA ?= $(CURDIR)/.cache/simdata
ROUTER_CURVE_K ?= 100,300,1000,3000

BENCH_TARGETS += bench-router

.PHONY: bench-router

bench-router: setup ## Router quality (APGR, CPT50/80, decision ms) and the adaptive router's learning curves
	@if [ ! -d "$(ROUTER_EVAL_DATA)" ]; then \
	  echo "bench-router: no data at $(ROUTER_EVAL_DATA) (set ROUTER_EVAL_DATA=DIR)"; exit 2; fi
	@echo "==> router quality on $(ROUTER_EVAL_DATA)"
	$(PY) -m hybrid_ai.cli router eval --data "$(ROUTER_EVAL_DATA)" --heldout "$(ROUTER_HELDOUT)"
	@echo "==> simulate files from every labelled set into $(ROUTER_SIM_DATA)"
	$(PY) -m hybrid_ai.cli router sim-data --out "$(ROUTER_SIM_DATA)" --dev "$(ROUTER_EVAL_DATA)" \
	  --heldout "$(ROUTER_HELDOUT)" $(if $(ROUTERDC),--routerdc "$(ROUTERDC)") $(if $(ALPACA_EVAL),--alpaca-eval "$(ALPACA_EVAL)")
	@echo "==> learning curves (K = $(ROUTER_CURVE_K) labels, 5 seeds, clean and 15% label noise; a few minutes)"
	$(PY) bench/router_learning.py "$(ROUTER_SIM_DATA)" --labels $(ROUTER_CURVE_K)
	@echo "==> refit time on 10,000 labels, decision time and memory of the model it makes"
	$(PY) bench/router_scale.py "$(ROUTER_SIM_DATA)"

# Rebuild the shipped learned-router model from public outcome data (maintainers; needs clones
# of the repositories data/router/SOURCES.md names, at the commits it names).
ROUTERDC ?=
ALPACA_EVAL ?=
ROUTER_CORPUS ?= $(CURDIR)/.cache/router/corpus.jsonl

.PHONY: router-model
router-model: setup ## Rebuild the learned router from public outcome data (ROUTERDC=clone ALPACA_EVAL=clone)
	@if [ -z "$(ROUTERDC)" ] || [ -z "$(ALPACA_EVAL)" ]; then \
	  echo "router-model: set ROUTERDC=<clone of shuhao02/RouterDC> ALPACA_EVAL=<clone of tatsu-lab/alpaca_eval>"; exit 2; fi
	$(PY) -m hybrid_ai.cli router build-data --dev "$(ROUTER_EVAL_DATA)" --routerdc "$(ROUTERDC)" \
	  --alpaca-eval "$(ALPACA_EVAL)" --out "$(ROUTER_CORPUS)" --heldout-dir data/router/heldout \
	  --hashes data/router/training-prompts.blake2b
	$(PY) -m hybrid_ai.cli router fit --corpus "$(ROUTER_CORPUS)" --out app/hybrid_ai/router/learned_model.py
	$(VENV)/bin/ruff format -q app/hybrid_ai/router/learned_model.py

# The local engine's own confidence as an escalation signal (not in `make bench`: ~3 min).
.PHONY: bench-cascade
bench-cascade: setup ## What local-model confidence (llama.cpp token log-probabilities) adds to routing, in APGR
	@echo "==> local-model confidence vs pre-routing score on the held-out multiple-choice sets"
	$(PY) bench/cascade_confidence.py $(CASCADE_BENCH_ARGS)

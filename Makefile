# Hybrid AI Stack: the verbs a user types. `make help` lists them.
# Each area adds its own targets in mk/<area>.mk; this file holds the shared ones.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(CURDIR)/$(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export HYBRID_AI_TIERS_DIR := $(CURDIR)/tiers
export ANSIBLE_CONFIG := $(CURDIR)/ansible/ansible.cfg

TIER ?= 1
CLOUD ?= local
CACHE ?= $(CURDIR)/.cache
export HYBRID_CACHE := $(CACHE)

# Filled by mk/*.mk
LINT_TARGETS :=
MOLECULE_SCENARIOS :=
BENCH_TARGETS :=

include $(sort $(wildcard mk/*.mk))


.PHONY: help host-prereqs setup test test-fast test-molecule lint bench deploy destroy clean

help: ## List every target with one line each
	@grep -hE '^[a-zA-Z0-9_.-]+:.*?## ' $(MAKEFILE_LIST) | sort -u | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'
	@echo; echo "  Variables: TIER=1..4 (default 1), CLOUD=local|aws|gcp (default local), INVENTORY=path"

setup: host-prereqs $(VENV)/.done ## Host packages (as root), .venv with pinned dependencies, the llama.cpp wheel and the test model
host-prereqs: ## Install the host packages the tests and local deploys need (Debian/Ubuntu, root; idempotent)
	@scripts/host-prereqs.sh
$(VENV)/.done: requirements/dev.lock requirements/runtime.lock pyproject.toml | host-prereqs
	@t0=$$(date +%s); echo "==> [1/3] creating $(VENV) from requirements/dev.lock"; \
	python3 -m venv $(VENV) && \
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==0.13.9 && \
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -r requirements/dev.lock && \
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python --no-deps -e . && \
	echo "==> [2/3] llama.cpp wheel and test model into $(CACHE) (the wheel build takes minutes, once)" && \
	scripts/build-wheelhouse.sh $(CACHE) && \
	echo "==> [3/3] installing llama-cpp-python $(LLAMA_CPP_VERSION) from the wheelhouse" && \
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python --no-index --find-links $(CACHE)/wheels \
	  "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" && \
	echo "==> setup done in $$(( $$(date +%s) - t0 )) s"
	touch $@

test: test-fast test-molecule ## Run every test: unit, integration, role and tier scenarios (containers)

test-fast: setup ## Unit and integration tests, no containers (real Redis, llama.cpp, Prometheus...)
	$(PY) -m pytest -q -n 2 tests

test-molecule: setup ## The Molecule scenarios (podman containers); SCENARIOS="a b" picks some
	scripts/run-molecule.sh $(or $(SCENARIOS),$(MOLECULE_SCENARIOS))

lint: setup $(LINT_TARGETS) ## ruff, yamllint and every linter the areas add
	ruff check .
	ruff format --check .
	yamllint -s .

bench: setup $(BENCH_TARGETS) ## Benchmarks that print figures (gateway overhead, cache throughput, router quality)

deploy: deploy-$(if $(INVENTORY),inventory,$(CLOUD)) ## Stand up a tier: TIER=N [CLOUD=local|aws|gcp | INVENTORY=path]

destroy: destroy-$(CLOUD) ## Tear down what deploy made (CLOUD=local|aws|gcp)

clean: ## Remove the venv and build outputs (keeps .cache: wheels, models, images)
	rm -rf $(VENV) build dist *.egg-info app/*.egg-info

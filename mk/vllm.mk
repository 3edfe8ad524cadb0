# vLLM (the GPU engine, hybrid_llm_engine: vllm): its hashed lock and an opt-in wheelhouse for
# air-gapped hosts (see ansible/roles/vllm/README.md).

VLLM_VERSION ?= 0.33.0
# The servers' Python for the wheelhouse: 3.12 (Ubuntu 24.04) or 3.11 (Debian 12).
VLLM_PYTHON ?= 3.12
VLLM_WHEELHOUSE ?= $(CACHE)/vllm-wheels
VLLM_LOCK := requirements/vllm.lock
export VLLM_WHEELHOUSE

.PHONY: vllm-lock vllm-wheelhouse

vllm-lock: setup ## Re-resolve requirements/vllm.lock (vllm==VLLM_VERSION, hashes, Python 3.11+)
	echo "vllm==$(VLLM_VERSION)" | $(VENV)/bin/uv pip compile - --universal --python-version 3.11 \
	  --only-binary :all: --generate-hashes --no-header -q -o $(VLLM_LOCK).tmp
	{ echo "# vLLM $(VLLM_VERSION) and every dependency, pinned with sha256 (wheels only, Python 3.11+)."; \
	  echo "# Installed by ansible/roles/vllm with pip --require-hashes --no-deps. Regenerate with:"; \
	  echo "#    make vllm-lock VLLM_VERSION=$(VLLM_VERSION)"; \
	  echo "# (uv pip compile --universal --python-version 3.11 --only-binary :all: --generate-hashes)"; \
	  cat $(VLLM_LOCK).tmp; } > $(VLLM_LOCK)
	rm -f $(VLLM_LOCK).tmp
	@grep -q "^vllm==$(VLLM_VERSION) " $(VLLM_LOCK) && echo "==> $(VLLM_LOCK): $$(grep -c '^[a-z0-9]' $(VLLM_LOCK)) pins"

# Several GB (torch and the CUDA libraries): made only when asked for, never by `make bundle` alone.
vllm-wheelhouse: setup ## Download the vLLM lock's wheels for VLLM_PYTHON (default 3.12) into VLLM_WHEELHOUSE (GBs)
	mkdir -p $(VLLM_WHEELHOUSE)
	$(VENV)/bin/uv pip compile $(VLLM_LOCK) --no-deps --python-version $(VLLM_PYTHON) \
	  --python-platform x86_64-manylinux_2_28 --generate-hashes --no-header -q -o $(VLLM_WHEELHOUSE)/requirements.txt
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --require-hashes \
	  -r $(VLLM_WHEELHOUSE)/requirements.txt -d $(VLLM_WHEELHOUSE) --only-binary :all: \
	  --python-version $(VLLM_PYTHON) --implementation cp --abi cp$(subst .,,$(VLLM_PYTHON)) \
	  $(foreach m,$(shell seq 36 -1 17),--platform manylinux_2_$(m)_x86_64) --platform manylinux2014_x86_64 \
	  --platform linux_x86_64
	cd $(VLLM_WHEELHOUSE) && sha256sum *.whl > SHA256SUMS
	@echo "==> $(VLLM_WHEELHOUSE): $$(ls $(VLLM_WHEELHOUSE)/*.whl | wc -l) wheels, $$(du -sh $(VLLM_WHEELHOUSE) | cut -f1)"

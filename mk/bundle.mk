# make bundle: every artifact a deploy needs that is not on the base Debian mirror, in one folder with
# a manifest (name, version, sha256, size, source). See docs/bundle.md (the air-gapped install path).

BUNDLE_DIR ?= $(CACHE)/bundle
export BUNDLE_DIR

.PHONY: bundle bundle-verify

bundle: setup ## Gather wheels, the llama.cpp wheel, models, n8n/Node archives into BUNDLE_DIR (+ manifest)
	$(PY) scripts/bundle.py --out $(BUNDLE_DIR) --cache $(CACHE)

bundle-verify: ## Check every file in BUNDLE_DIR against its manifest sha256 (exit 1 on any mismatch)
	$(PY) scripts/bundle.py --verify --out $(BUNDLE_DIR)
	if [ -f $(BUNDLE_DIR)/vllm-wheels/SHA256SUMS ]; then \
	  cd $(BUNDLE_DIR)/vllm-wheels && sha256sum --quiet -c SHA256SUMS && echo "==> vllm-wheels: ok"; fi

# vLLM's wheels are several GB (torch, the CUDA libraries): a separate, opt-in part of the bundle,
# checked by its own SHA256SUMS (and by pip --require-hashes against requirements/vllm.lock on install).
.PHONY: bundle-vllm
bundle-vllm: setup ## Opt-in: the vLLM lock's wheels (several GB) into BUNDLE_DIR/vllm-wheels (vllm_wheelhouse)
	$(MAKE) vllm-wheelhouse VLLM_WHEELHOUSE=$(BUNDLE_DIR)/vllm-wheels

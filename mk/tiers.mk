# Whole tiers: Molecule scenarios that converge ansible/playbooks/site.yml per tier (docs/tiers-testing.md).
# Listed first so the longest scenarios start first when they run side by side (MOLECULE_JOBS).

TIER_SCENARIOS := upgrade tier4 tier3 tier2 tier1
MOLECULE_SCENARIOS := $(TIER_SCENARIOS) $(MOLECULE_SCENARIOS)

.PHONY: test-tiers
test-tiers: setup n8n-bundle ## Only the tier scenarios (1-4) and the upgrade path (containers)
	scripts/run-molecule.sh $(TIER_SCENARIOS)

# A fleet: two gateways, two model servers, one cache host from one multi-host inventory (docs/ansible.md).
MOLECULE_SCENARIOS := $(firstword $(TIER_SCENARIOS)) fleet $(wordlist 2,99,$(MOLECULE_SCENARIOS))

.PHONY: test-fleet
test-fleet: setup ## Only the fleet scenario: 2 gateways, 2 model servers, 1 cache host (containers)
	scripts/run-molecule.sh fleet

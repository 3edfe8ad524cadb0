# Whole tiers: Molecule scenarios that converge ansible/playbooks/site.yml per tier (docs/tiers-testing.md).
# Listed first so the longest scenarios start first when they run side by side (MOLECULE_JOBS).

TIER_SCENARIOS := upgrade tier4 tier3 tier2 tier1
MOLECULE_SCENARIOS := $(TIER_SCENARIOS) $(MOLECULE_SCENARIOS)

.PHONY: test-tiers
test-tiers: setup n8n-bundle ## Only the tier scenarios (1-4) and the upgrade path (containers)
	scripts/run-molecule.sh $(TIER_SCENARIOS)

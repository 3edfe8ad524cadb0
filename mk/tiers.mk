# Whole tiers: Molecule scenarios that converge ansible/playbooks/site.yml per tier (docs/tiers-testing.md).
# Listed first so the longest scenarios start first when they run side by side (MOLECULE_JOBS).

MOLECULE_SCENARIOS := upgrade tier2 tier1 $(MOLECULE_SCENARIOS)

.PHONY: test-tiers

test-tiers: setup n8n-bundle ## Only the tier scenarios and the upgrade path (containers)
	scripts/run-molecule.sh upgrade tier2 tier1

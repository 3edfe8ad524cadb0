# Whole tiers: Molecule scenarios that converge ansible/playbooks/site.yml per tier (docs/tiers-testing.md).
# Listed first so the longest scenarios start first when they run side by side (MOLECULE_JOBS).

MOLECULE_SCENARIOS := upgrade tier2 tier1 $(MOLECULE_SCENARIOS)

.PHONY: test-tiers

test-tiers: setup n8n-bundle ## Only the tier scenarios and the upgrade path (containers)
	scripts/run-molecule.sh upgrade tier2 tier1

# tier3 and tier4 are not in make test: with them the scenarios take about an hour on 2 cores.
# Tier 3 is converged and checked in make test as the middle step of the upgrade scenario.
.PHONY: test-tiers-all
test-tiers-all: setup n8n-bundle ## Every tier scenario (1-4) and the upgrade path (containers; about an hour on 2 cores)
	scripts/run-molecule.sh upgrade tier4 tier3 tier2 tier1

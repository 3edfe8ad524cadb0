# `hybrid-ai roi`: cloud-only vs hybrid cost per tier, prices from tiers/. See docs/roi.md.

VOLUME ?= 100000
ROI_ARGS ?=
# CLOUD defaults to local for deploy; the ROI needs a cloud's box price, so local means aws here.
ROI_CLOUD = $(if $(filter gcp,$(CLOUD)),gcp,aws)
# all four tiers unless TIER was given on the command line or in the environment
ROI_TIER = $(if $(filter command line environment,$(origin TIER)),--tier $(TIER))

.PHONY: roi

roi: ## Cloud-only vs hybrid cost and break-even volume per tier (VOLUME=N [TIER=N CLOUD=aws|gcp PLOT=roi.png])
	$(PY) -m hybrid_ai.cli roi --volume $(VOLUME) --cloud $(ROI_CLOUD) $(ROI_TIER) $(if $(PLOT),--plot $(PLOT)) $(ROI_ARGS)

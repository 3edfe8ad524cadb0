"""Tier 1 as a whole after site.yml: the shared core and tier checks, expectations from
tiers/tier1.yml."""

from stack_checks import *  # noqa: F403
from tier_checks import *  # noqa: F403

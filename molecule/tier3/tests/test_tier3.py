"""Tier 3 as a whole after site.yml: the shared core, tier and n8n checks, expectations from
tiers/tier3.yml."""

from n8n_checks import *  # noqa: F403
from stack_checks import *  # noqa: F403
from tier_checks import *  # noqa: F403

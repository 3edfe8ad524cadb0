"""Hybrid AI Stack on AWS or GCP: `pulumi up` with a stack's config (see docs/cloud.md)."""

from hybrid_infra.program import run

run()

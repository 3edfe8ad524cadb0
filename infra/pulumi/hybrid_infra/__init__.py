"""Turn a tier of the Hybrid AI Stack into a box on AWS or GCP.

The sizes come from tiers/ through hybrid_ai.tiers; this package only says how each cloud
builds a box of that size, closed by default (SSH from the operator, the gateway port from
the gateway's clients, nothing else).
"""

PROJECT = "hybrid-ai-stack"
GATEWAY_PORT = 8080
SSH_PORT = 22
LABEL_TIER = "hybrid-ai-tier"
LABEL_STACK = "hybrid-ai-stack"
LABEL_MANAGED_BY = "managed-by"
LABEL_ROLE = "hybrid-ai-role"

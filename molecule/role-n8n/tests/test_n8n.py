"""PostgreSQL and n8n roles alone: the shared n8n checks."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from n8n_checks import *  # noqa: F403

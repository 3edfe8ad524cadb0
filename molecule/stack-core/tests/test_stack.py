"""The core of tier 2 (base, firewall, llama.cpp, Redis, gateway) in a container: the shared core checks."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from stack_checks import *  # noqa: F403


@pytest.fixture(scope="module")
def tier_no() -> int:
    return 2

"""Pulumi unit tests: the mocks (tests/pulumi/mocks.py) are installed on import, before any
test imports the program's modules."""

from __future__ import annotations

import pytest

from tests.pulumi.mocks import Recorder, install_mocks


@pytest.fixture
def recorder() -> Recorder:
    return install_mocks()

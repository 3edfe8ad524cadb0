import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))


@pytest.fixture(scope="module")
def tier_no() -> int:
    return 4

"""Upgrade path: the box now at tier 2 (only hybrid_tier changed); data from tier 1 kept."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from upgrade_checks import check_data_kept, check_tier


def test_tier_2(host):
    check_tier(host, 2)


def test_data_kept(host):
    check_data_kept(host)

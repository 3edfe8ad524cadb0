"""The Prometheus role's alert rules: valid for promtool, and each one fires when it should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import PROMTOOL
from .fleet import not_under_max
from .render import render

HERE = Path(__file__).resolve().parent


@pytest.fixture
def rules() -> dict:
    return yaml.safe_load(render("prometheus", "hybrid-ai.rules.yml.j2"))


def _alerts(rules: dict) -> list[dict]:
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def test_rules_pass_promtool_check(tmp_path):
    path = tmp_path / "hybrid-ai.rules.yml"
    path.write_text(render("prometheus", "hybrid-ai.rules.yml.j2"))
    out = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 9 rules found" in out.stdout + out.stderr


def test_every_alert_has_severity_and_text(rules):
    alerts = _alerts(rules)
    names = {a["alert"] for a in alerts}
    assert names == {
        "HybridAIGatewayDown",
        "HybridAIGatewayErrorRate",
        "HybridAILocalBackendDown",
        "HybridAICloudBudgetBurn",
        "HybridAICloudBudgetExhausted",
        "HybridAICacheHitRateCollapse",
        "HybridAICacheErrors",
        "HybridAIModelDiskFilling",
        "HybridAIQualityBelowTarget",
    }
    for a in alerts:
        assert a["labels"]["severity"] in ("warning", "critical"), a["alert"]
        assert a["annotations"]["summary"] and a["annotations"]["description"], a["alert"]


def test_fleet_wide_gauges_are_taken_with_max(rules):
    """Every gateway reports the same Redis-backed gauges: sum() over a fleet would multiply them."""
    bad = {a["alert"]: not_under_max(a["expr"]) for a in _alerts(rules) if not_under_max(a["expr"])}
    assert not bad, bad
    assert not_under_max("sum(api_gateway_quality_labels) >= 50") == ["api_gateway_quality_labels"]
    assert not_under_max("max by (source) (api_gateway_labels) > max(api_gateway_quality_ratio_low)") == []


def test_every_alert_fires_in_promtool_unit_tests(tmp_path, rules):
    """Run tests/monitoring/alerts_test.yml: a firing and a quiet case per alert."""
    for a in _alerts(rules):
        a.pop("annotations")  # compared by promtool only when given; text is checked above
    (tmp_path / "hybrid-ai.rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copy(HERE / "alerts_test.yml", tmp_path / "alerts_test.yml")
    spec = yaml.safe_load((HERE / "alerts_test.yml").read_text())
    tested = {t["alertname"] for case in spec["tests"] for t in case["alert_rule_test"] if t.get("exp_alerts")}
    assert tested == {a["alert"] for a in _alerts(rules)}, "every alert needs a case where it fires"
    quiet = {t["alertname"] for case in spec["tests"] for t in case["alert_rule_test"] if t.get("exp_alerts") == []}
    assert quiet == {a["alert"] for a in _alerts(rules)}, "every alert needs a case where it stays quiet"
    out = subprocess.run([PROMTOOL, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_a_broken_expectation_is_caught(tmp_path, rules):
    """The promtool harness can fail: expecting the gateway-down alert while it is up must fail."""
    for a in _alerts(rules):
        a.pop("annotations")
    (tmp_path / "hybrid-ai.rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    spec = {
        "rule_files": ["hybrid-ai.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": 'up{job="hybrid-ai-gateway",instance="g:8080"}', "values": "1x10"}],
                "alert_rule_test": [
                    {
                        "eval_time": "8m",
                        "alertname": "HybridAIGatewayDown",
                        "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "hybrid-ai-gateway"}}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "t.yml").write_text(yaml.safe_dump(spec))
    out = subprocess.run([PROMTOOL, "test", "rules", "t.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0

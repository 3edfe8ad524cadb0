"""The nvidia role's nvidia-smi textfile collector: its output is valid Prometheus text."""

from __future__ import annotations

import importlib.util
import subprocess

from .conftest import PROMTOOL
from .render import ROLES

# Two rows as `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` prints them (a T4 box).
SAMPLE = (
    "0, GPU-5d1f3b2e-0000-1111-2222-333344445555, Tesla T4, 550.127.08, 37, 12, 5421, 15360, 48, 31.72\n"
    "1, GPU-aaaa0000-0000-1111-2222-333344445555, Tesla T4, 550.127.08, 0, 0, 1, 15360, 35, [N/A]\n"
)


def _collector():
    spec = importlib.util.spec_from_file_location("collector", ROLES / "nvidia" / "files" / "nvidia_smi_textfile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_render_gives_valid_metrics(tmp_path):
    text = _collector().render(SAMPLE)
    assert 'nvidia_gpu_utilization_ratio{gpu="0",uuid="GPU-5d1f3b2e-0000-1111-2222-333344445555"} 0.37' in text
    assert 'nvidia_gpu_memory_total_bytes{gpu="1"' in text
    assert " 16106127360\n" in text  # exact bytes, no rounding
    assert 'driver_version="550.127.08"' in text
    assert 'nvidia_gpu_power_watts{gpu="1"' not in text, "[N/A] values are skipped"
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_collector_reports_missing_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / "nvidia.prom"
    mod = _collector()
    monkeypatch.setattr("sys.argv", ["x", str(target)])
    mod.main()
    assert target.read_text().strip().endswith("nvidia_smi_up 0")

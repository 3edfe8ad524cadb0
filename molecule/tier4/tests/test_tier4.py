"""Tier 4 as a whole after site.yml: the shared core, tier and n8n checks, expectations from
tiers/tier4.yml; then what a container without a GPU shows of the GPU tier: the nvidia role's
no-device path, every local rung served on the CPU, and the GPU metrics path ready."""

import json
import shlex
import time

from n8n_checks import *  # noqa: F403
from stack_checks import *  # noqa: F403
from tier_checks import *  # noqa: F403

TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"


def test_no_gpu_so_no_driver_repository_metrics_timer_or_ollama_gpu_dropin(host):
    assert host.run("ls /proc/driver/nvidia /dev/nvidia0").rc != 0, "the test container has a GPU?"
    for path in (
        "/etc/apt/sources.list.d/hybrid-ai-nvidia.list",
        "/etc/systemd/system/hybrid-ai-gpu-metrics.timer",
        "/etc/systemd/system/hybrid-ai-gpu-metrics.service",
        "/etc/systemd/system/ollama.service.d/gpu.conf",
    ):
        assert not host.file(path).exists, path
    assert host.run("dpkg-query -W -f '${Status}' nvidia-driver 2>/dev/null | grep -q installed").rc != 0


def test_local_rungs_run_on_the_cpu(host):
    log = host.check_output("journalctl -u llamacpp --no-pager")
    assert "CPU : " in log and "POST /v1/chat/completions" in log, log[-2000:]
    assert "CUDA" not in log and "offloaded" not in log.replace("offloaded 0/", ""), log[-2000:]


def test_gpu_metrics_path_is_wired(host):
    """The GPU collector writes *.prom files for the node exporter's textfile collector; a sample
    file there reaches Prometheus, so metrics flow as soon as a GPU and its driver appear."""
    sample = f"{TEXTFILE_DIR}/tier4-check.prom"
    metric = 'nvidia_gpu_memory_total_bytes{gpu="0",uuid="GPU-tier4-check"} 16106127360'
    host.check_output(f"printf '%s\\n' {shlex.quote(metric)} > {sample}.tmp && mv {sample}.tmp {sample}")
    q = shlex.quote('query=nvidia_gpu_memory_total_bytes{uuid="GPU-tier4-check"}')
    try:
        found = []
        for _ in range(30):
            out = host.run(f"curl -fsS -G --data-urlencode {q} http://127.0.0.1:9090/api/v1/query")
            if out.rc == 0:
                found = json.loads(out.stdout)["data"]["result"]
                if found:
                    break
            time.sleep(2)
        assert found and found[0]["value"][1] == "16106127360", found
    finally:
        host.run(f"rm -f {sample}")

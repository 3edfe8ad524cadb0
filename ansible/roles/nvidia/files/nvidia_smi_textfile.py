#!/usr/bin/python3
"""Write GPU metrics from nvidia-smi as Prometheus text for the node exporter's textfile collector.

Usage: nvidia_smi_textfile.py OUTPUT.prom   (written atomically; run by a systemd timer)
"""

import os
import subprocess
import sys
import tempfile

FIELDS = [
    # (nvidia-smi field, metric, help, scale)
    ("utilization.gpu", "nvidia_gpu_utilization_ratio", "GPU busy ratio", 0.01),
    ("utilization.memory", "nvidia_gpu_memory_utilization_ratio", "Memory controller busy ratio", 0.01),
    ("memory.used", "nvidia_gpu_memory_used_bytes", "GPU memory in use", 1024 * 1024),
    ("memory.total", "nvidia_gpu_memory_total_bytes", "GPU memory", 1024 * 1024),
    ("temperature.gpu", "nvidia_gpu_temperature_celsius", "GPU temperature", 1),
    ("power.draw", "nvidia_gpu_power_watts", "Power draw", 1),
]
QUERY = ["index", "uuid", "name", "driver_version"] + [f for f, *_ in FIELDS]


def _escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(csv_text):
    """Turn `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` output into Prometheus text."""
    lines = [f"# HELP {m} {h}\n# TYPE {m} gauge" for _, m, h, _ in FIELDS]
    lines.append("# HELP nvidia_gpu_info GPU identity and driver version\n# TYPE nvidia_gpu_info gauge")
    for row in csv_text.strip().splitlines():
        cols = [c.strip() for c in row.split(",")]
        if len(cols) != len(QUERY):
            continue
        index, uuid, name, driver = cols[:4]
        labels = f'gpu="{_escape(index)}",uuid="{_escape(uuid)}"'
        lines.append(f'nvidia_gpu_info{{{labels},name="{_escape(name)}",driver_version="{_escape(driver)}"}} 1')
        for (_, metric, _, scale), raw in zip(FIELDS, cols[4:], strict=True):
            try:
                value = float(raw) * scale
            except ValueError:  # "[N/A]" on boards that do not report it
                continue
            lines.append(f"{metric}{{{labels}}} {value:.12g}")
    return "\n".join(lines) + "\n"


def main():
    out = sys.argv[1]
    try:
        csv_text = subprocess.run(
            ["nvidia-smi", "--query-gpu=" + ",".join(QUERY), "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout
        body, up = render(csv_text), 1
    except (OSError, subprocess.SubprocessError):
        body, up = "", 0
    body += f"# HELP nvidia_smi_up Whether nvidia-smi answered\n# TYPE nvidia_smi_up gauge\nnvidia_smi_up {up}\n"
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out), prefix=".nvidia.")
    with os.fdopen(fd, "w") as f:
        f.write(body)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()

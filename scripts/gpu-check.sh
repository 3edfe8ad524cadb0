#!/usr/bin/env bash
# Tier 4 on real hardware: what a container cannot show. Run on a box with an NVIDIA GPU and its
# driver (before or after the playbook); needs bash, python3 and nvidia-smi, nothing from the venv.
#   scripts/gpu-check.sh [OUTDIR]     -> OUTDIR/gpu.prom (check it with `promtool check metrics`)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
mkdir -p "$out"
role=ansible/roles/nvidia/files
fail() { echo "FAIL: $*"; exit 1; }

found=$(bash "$role/detect_nvidia.sh")
[ -n "$found" ] || fail "the nvidia role's detection found no GPU"
echo "ok: the role's detection finds the GPU ($found)"

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: the driver is not installed"
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1 | tr -d ' ')
branch=${driver%%.*}
want=$(sed -n 's/^ *min_driver_branch: *\([0-9]*\).*/\1/p' tiers/tier4.yml)
[ -n "$want" ] || fail "tiers/tier4.yml has no min_driver_branch"
[ "$branch" -ge "$want" ] || fail "driver $driver is below the tier's branch $want"
echo "ok: driver $driver (branch $branch >= $want)"

python3 "$role/nvidia_smi_textfile.py" "$out/gpu.prom"
grep -q '^nvidia_smi_up 1$' "$out/gpu.prom" || fail "the collector could not read nvidia-smi"
total=$(sed -n 's/^nvidia_gpu_memory_total_bytes{[^}]*} \(.*\)$/\1/p' "$out/gpu.prom" | head -1)
[ -n "$total" ] || fail "no nvidia_gpu_memory_total_bytes sample"
need_mb=$(sed -n 's/^ *vram_mb: *\([0-9]*\).*/\1/p' tiers/tier4.yml | sort -n | tail -1)
python3 - "$total" "$need_mb" <<'PY'
import sys
total_mb = float(sys.argv[1]) / 2**20
need = int(sys.argv[2])
print(f"ok: {total_mb:.0f} MiB of GPU memory; the tier's largest model needs {need} MiB")
sys.exit(0 if total_mb >= need else 1)
PY
echo "ok: GPU metrics written to $out/gpu.prom ($(grep -c '^nvidia_' "$out/gpu.prom") samples)"

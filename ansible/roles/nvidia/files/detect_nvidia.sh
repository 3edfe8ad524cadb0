#!/bin/bash
# Print how an NVIDIA GPU was found (PCI display device of vendor 0x10de, a loaded driver, or
# device nodes); print nothing when there is none. Exit 0 either way.
# Used by the nvidia role's preflight and by scripts/gpu-check.sh on real hardware.
set -u
found=""
for d in /sys/bus/pci/devices/*; do
  [ -r "$d/vendor" ] || continue
  if [ "$(cat "$d/vendor")" = 0x10de ] && grep -qE '^0x03' "$d/class"; then
    found="pci $(basename "$d")"
    break
  fi
done
[ -z "$found" ] && [ -d /proc/driver/nvidia ] && found="driver /proc/driver/nvidia"
if [ -z "$found" ]; then
  for n in /dev/nvidia[0-9]*; do
    [ -e "$n" ] && { found="device $n"; break; }
  done
fi
echo "$found"

#!/usr/bin/env bash
# Run Molecule scenarios (molecule/<name>) one after another; print a timing summary.
# Usage: scripts/run-molecule.sh scenario...
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "no Molecule scenarios given"; exit 0; }
scripts/build-image.sh
summary=()
status=0
for s in "$@"; do
  echo "==> molecule test -s $s"
  t0=$(date +%s)
  if molecule test -s "$s"; then r=ok; else r=FAILED; status=1; fi
  summary+=("$(printf '%-22s %-7s %5ss' "$s" "$r" "$(( $(date +%s) - t0 ))")")
done
printf '%s\n' "== Molecule summary ==" "${summary[@]}"
exit $status

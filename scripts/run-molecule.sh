#!/usr/bin/env bash
# Run Molecule scenarios (molecule/<name>), MOLECULE_JOBS at a time (default 2), each into its own
# log under .cache/molecule-logs/; print progress, a timing summary, the peak memory in use on the
# machine while they ran, and the end of the log of any scenario that failed.
# Usage: scripts/run-molecule.sh scenario...
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "no Molecule scenarios given"; exit 0; }
jobs_max="${MOLECULE_JOBS:-2}"
[[ "$jobs_max" =~ ^[1-9][0-9]*$ ]] || { echo "MOLECULE_JOBS must be a positive integer, got '$jobs_max'" >&2; exit 2; }
for s in "$@"; do
  [ -f "molecule/$s/molecule.yml" ] || { echo "no scenario molecule/$s (molecule/$s/molecule.yml missing)" >&2; exit 2; }
done

scripts/build-image.sh
# The scenarios reach their containers over SSH with this key (mounted as root's authorized_keys).
key=.cache/molecule-ssh/id_ed25519
if [ ! -f "$key" ]; then
  mkdir -p "$(dirname "$key")"
  ssh-keygen -q -t ed25519 -N '' -C hybrid-ai-molecule -f "$key"
fi
logs=.cache/molecule-logs
mkdir -p "$logs"
echo "==> controller caches (gateway wheel, llama.cpp wheelhouse archive), shared by the scenarios"
MOLECULE_PROJECT_DIRECTORY="$PWD" ANSIBLE_CONFIG=ansible/ansible.cfg ANSIBLE_ROLES_PATH=ansible/roles \
  ansible-playbook -i localhost, molecule/_shared/controller-cache.yml >"$logs/controller-cache.log" 2>&1 \
  || { tail -n 60 "$logs/controller-cache.log"; exit 1; }

# Peak memory in use on the machine (MemTotal - MemAvailable), sampled every 5 s while this runs.
peak_file=$(mktemp)
echo 0 >"$peak_file"
(
  peak=0
  for _ in $(seq 1 2160); do  # at most 3 hours
    used=$(awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print int((t-a)/1024)}' /proc/meminfo)
    if [ "$used" -gt "$peak" ]; then peak=$used; echo "$peak" >"$peak_file"; fi
    sleep 5
  done
) &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; rm -f "$peak_file"' EXIT
base_mb=$(awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print int((t-a)/1024)}' /proc/meminfo)

declare -A name_of=() start_of=()
results=()
status=0
t_all=$(date +%s)

stamp() {  # prefix each line with the time, for the per-action durations below
  local line
  while IFS= read -r line; do printf '%(%H:%M:%S)T %s\n' -1 "$line"; done
}

phases() {  # "converge 412s idempotence 301s ..." from a stamped log
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    function secs(t) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
    /➜ [a-z_]+: Executing$/ { act = $(NF - 1); sub(":", "", act); start = secs($1) }
    /➜ [a-z_]+: Executed:/ && start != "" { d = secs($1) - start; if (d < 0) d += 86400; printf "%s %ds  ", act, d; start = "" }'
}

reap_one() {  # wait for whichever running scenario ends first; record its result
  local pid="" rc=0
  wait -n -p pid "${!name_of[@]}" || rc=$?
  local s=${name_of[$pid]} r=ok
  [ "$rc" -eq 0 ] || r=FAILED
  local took=$(($(date +%s) - ${start_of[$s]}))
  echo "<== $s $r after ${took}s (log: $logs/$s.log)"
  echo "    $(phases "$logs/$s.log")"
  results+=("$(printf '%-22s %-7s %5ss' "$s" "$r" "$took")")
  if [ "$r" != ok ]; then
    status=1
    echo "---- last 200 lines of $logs/$s.log"
    tail -n 200 "$logs/$s.log"
    echo "---- end of $s"
  fi
  unset "name_of[$pid]"
}

for s in "$@"; do
  while [ "${#name_of[@]}" -ge "$jobs_max" ]; do reap_one; done
  echo "==> molecule test -s $s ($(date +%H:%M:%S))"
  start_of[$s]=$(date +%s)
  (set -o pipefail; molecule test -s "$s" 2>&1 | stamp) >"$logs/$s.log" &
  name_of[$!]=$s
done
while [ "${#name_of[@]}" -gt 0 ]; do reap_one; done

printf '%s\n' "== Molecule summary ($jobs_max at a time, $(($(date +%s) - t_all))s in all) ==" "${results[@]}"
echo "peak memory in use: $(cat "$peak_file") MiB (before the scenarios: ${base_mb} MiB)"
exit $status

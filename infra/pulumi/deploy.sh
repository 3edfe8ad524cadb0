#!/usr/bin/env bash
# Stand up (or tear down) one tier on AWS or GCP: Pulumi buys the box, Ansible configures it.
#
#   infra/pulumi/deploy.sh up|destroy|inventory|configure   (make deploy-aws, deploy-gcp, ...; CI)
#
# Environment (the make targets pass them): CLOUD=aws|gcp TIER=1..4 [STACK=<cloud>-tier<N>]
#   ADMIN_CIDRS=a/32,b/32      who may SSH in (required unless the stack already has them)
#   GATEWAY_CIDRS=c/24         who may call the gateway on :8080 (default: ADMIN_CIDRS)
#   SSH_PUBLIC_KEY=~/.ssh/id_ed25519.pub   SSH_PRIVATE_KEY=<matching private key, optional>
#   SSH_PUBLIC_KEY_TEXT="ssh-ed25519 AAAA..."  the key itself instead of a file (CI)
#   OUTPUTS=file.json          `inventory` from saved `pulumi stack output --json` (no CLI needed)
#   REGION=us-east-1 (aws)     ZONE=us-central1-a GCP_PROJECT=my-project (gcp)
#   DISK_GB=120                keep a bigger disk than the tier's (after a downgrade: disks never shrink)
#   NODES=2x3                  a fleet: 2 gateway boxes behind the cloud's load balancer, 3 model boxes
#                              (stack setting fleet: {gateways: 2, models: 3}; 1x1 = the one box)
#   SSH_WAIT_S=600             how long to wait for SSH after `pulumi up`
#   API_KEY_FILE=...           the gateway key to smoke-test with (default: the secrets dir)
#   SMOKE=0                    skip the smoke test (e.g. when this machine is not in GATEWAY_CIDRS)
#   INVENTORY_ROOT=inventories  where <stack>/hosts.yml goes
#   PULUMI=pulumi PY=.venv/bin/python
set -euo pipefail

ACTION=${1:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PULUMI_DIR=$ROOT/infra/pulumi
PY=${PY:-$ROOT/.venv/bin/python}
PULUMI=${PULUMI:-pulumi}
CLOUD=${CLOUD:-}
TIER=${TIER:-}
STACK=${STACK:-${CLOUD}-tier${TIER}}
SSH_WAIT_S=${SSH_WAIT_S:-600}
INVENTORY_ROOT=$(realpath -m "${INVENTORY_ROOT:-$ROOT/inventories}")
INVENTORY=$INVENTORY_ROOT/$STACK/hosts.yml
TOTAL=9

die() { echo "error: $*" >&2; exit 1; }
step() { printf '\n==> [%s/%s] %s\n' "$1" "$TOTAL" "$2"; }
pulumi_() { (cd "$PULUMI_DIR" && "$PULUMI" "$@"); }

need_pulumi() {
  command -v "$PULUMI" >/dev/null 2>&1 || die "the pulumi CLI is not installed (looked for '$PULUMI' on PATH).
  Install it (https://www.pulumi.com/docs/iac/download-install/), then choose where state lives:
  'pulumi login' (Pulumi Cloud), or 'pulumi login s3://BUCKET' / 'gs://BUCKET' / '--local'.
  No cloud call was made."
}

check_cloud() {
  case "$CLOUD" in aws | gcp) ;; *) die "CLOUD must be aws or gcp (got '${CLOUD}')" ;; esac
  case "$TIER" in 1 | 2 | 3 | 4) ;; *) die "TIER must be 1, 2, 3 or 4 (got '${TIER}')" ;; esac
  [[ $STACK =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "STACK must be a plain stack name (got '${STACK}')"
  if [[ -n ${NODES:-} && ! $NODES =~ ^[0-9]+x[0-9]+$ ]]; then
    die "NODES must be <gateways>x<model boxes>, e.g. NODES=2x3 (got '${NODES}')"
  fi
}

set_list() { # key, comma-separated values -> a structured list in the stack config
  local key=$1 csv=$2 i=0 item
  pulumi_ config rm "$key" --stack "$STACK" >/dev/null 2>&1 || true
  IFS=',' read -r -a items <<<"$csv"
  for item in "${items[@]}"; do
    item=${item// /}
    [[ -n $item ]] || continue
    pulumi_ config set --path "${key}[$i]" "$item" --stack "$STACK" >/dev/null
    i=$((i + 1))
  done
}

inventory_hosts() { # "name address user" of every host in the written inventory, gateways first
  "$PY" - "$INVENTORY" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for name, hostvars in doc["all"]["hosts"].items():
    print(name, hostvars["ansible_host"], hostvars["ansible_user"])
EOF
}

inventory_field() { # field of the first host in the written inventory
  "$PY" - "$INVENTORY" "$1" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
name, hostvars = next(iter(doc["all"]["hosts"].items()))
print(name if sys.argv[2] == "name" else hostvars[sys.argv[2]])
EOF
}

write_inventory() {
  pulumi_ stack output --json --stack "$STACK" |
    (cd "$PULUMI_DIR" && "$PY" -m hybrid_infra.inventory --stack "$STACK" --out-dir "$INVENTORY_ROOT")
}

wait_for_ssh() {
  local host=$1 user=$2 deadline=$((SECONDS + SSH_WAIT_S)) tries=0
  local opts=(-o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=accept-new)
  if [[ -n ${SSH_PRIVATE_KEY:-} ]]; then opts+=(-i "$SSH_PRIVATE_KEY"); fi
  while ((SECONDS < deadline)); do
    tries=$((tries + 1))
    # python3 for Ansible, and first-boot package installs finished (no apt lock fight)
    if ssh "${opts[@]}" "$user@$host" 'command -v python3 >/dev/null &&
        { ! command -v cloud-init >/dev/null || timeout 300 cloud-init status --wait >/dev/null || true; }' 2>/dev/null; then
      echo "    ssh $user@$host: up, python3 ready, first boot done (try $tries)"
      return 0
    fi
    echo "    waiting for ssh $user@$host and python3 (try $tries, $((deadline - SECONDS)) s left)"
    sleep 10
  done
  die "no SSH to $user@$host within ${SSH_WAIT_S} s. Is this machine's address in adminCidrs? Try: ssh $user@$host"
}

smoke() {
  local url=$1 key=$2
  if [[ -x $ROOT/scripts/smoke.sh ]]; then
    "$ROOT/scripts/smoke.sh" "$url" "$key"
    return
  fi
  local i
  for i in $(seq 1 30); do
    if curl -fsS --max-time 10 "$url/health" >/dev/null 2>&1; then break; fi
    echo "    waiting for $url/health (try $i/30)"
    sleep 5
  done
  curl -fsS --max-time 10 "$url/health" >/dev/null || die "the gateway does not answer at $url/health"
  curl -fsS --max-time 30 -H "Authorization: Bearer $key" "$url/api/v1/models" >/dev/null ||
    die "the gateway refused the API key at $url/api/v1/models"
  echo "    $url/health and /api/v1/models answer"
}

api_key() { # the gateway key the playbook generated (kept on this machine, outside git)
  local name=$1 file=${API_KEY_FILE:-}
  if [[ -z $file ]]; then
    for candidate in "$ROOT/.secrets/$name/api_key" "$ROOT/.secrets/$name/api_keys" "$ROOT/.secrets/api_key"; do
      if [[ -f $candidate ]]; then file=$candidate && break; fi
    done
  fi
  [[ -n $file && -f $file ]] || return 1
  grep -v '^[[:space:]]*#' "$file" | grep -m1 -v '^[[:space:]]*$'
}

configure_stack() { # steps 2-4: select/create the stack, set its config, check it offline
  step 2 "selecting stack $STACK (created if new)"
  pulumi_ stack select --create "$STACK"

  step 3 "setting stack config"
  pulumi_ config set cloud "$CLOUD" --stack "$STACK"
  pulumi_ config set tier "$TIER" --stack "$STACK"
  if [[ -n ${SSH_PUBLIC_KEY_TEXT:-} ]]; then
    pulumi_ config set sshPublicKey "$SSH_PUBLIC_KEY_TEXT" --stack "$STACK"
  elif [[ -n ${SSH_PUBLIC_KEY:-} ]]; then
    [[ -f $SSH_PUBLIC_KEY ]] || die "SSH_PUBLIC_KEY=$SSH_PUBLIC_KEY does not exist"
    pulumi_ config set sshPublicKey "$(cat "$SSH_PUBLIC_KEY")" --stack "$STACK"
  fi
  if [[ -n ${ADMIN_CIDRS:-} ]]; then set_list adminCidrs "$ADMIN_CIDRS"; fi
  if [[ -n ${GATEWAY_CIDRS:-} ]]; then set_list gatewayCidrs "$GATEWAY_CIDRS"; fi
  if [[ -n ${REGION:-} && $CLOUD == aws ]]; then pulumi_ config set region "$REGION" --stack "$STACK"; fi
  if [[ -n ${ZONE:-} && $CLOUD == gcp ]]; then pulumi_ config set zone "$ZONE" --stack "$STACK"; fi
  if [[ -n ${GCP_PROJECT:-} && $CLOUD == gcp ]]; then pulumi_ config set gcpProject "$GCP_PROJECT" --stack "$STACK"; fi
  if [[ -n ${DISK_GB:-} ]]; then pulumi_ config set diskGb "$DISK_GB" --stack "$STACK"; fi
  if [[ -n ${NODES:-} ]]; then
    pulumi_ config rm fleet --stack "$STACK" >/dev/null 2>&1 || true
    pulumi_ config set --path fleet.gateways "${NODES%x*}" --stack "$STACK"
    pulumi_ config set --path fleet.models "${NODES#*x}" --stack "$STACK"
  fi

  step 4 "checking the config (no cloud call yet)"
  (cd "$PULUMI_DIR" && "$PY" -m hybrid_infra.config --stack-file "Pulumi.$STACK.yaml" --stack "$STACK") ||
    die "fix the stack config above (ADMIN_CIDRS=..., SSH_PUBLIC_KEY=..., see docs/cloud.md), then run again"
}

up() {
  check_cloud
  step 1 "checking tools"
  need_pulumi
  [[ -x $PY ]] || die "$PY not found: run 'make setup' first"
  [[ -f $ROOT/ansible/playbooks/site.yml ]] || die "ansible/playbooks/site.yml is missing: nothing would configure the box"
  command -v ssh >/dev/null || die "ssh is not installed"
  echo "    pulumi $("$PULUMI" version), stack $STACK ($CLOUD tier $TIER)"

  configure_stack

  step 5 "pulumi up"
  pulumi_ up --yes --stack "$STACK"

  step 6 "writing $INVENTORY"
  write_inventory
  local name host user
  name=$(inventory_field name)
  host=$(inventory_field ansible_host)
  user=$(inventory_field ansible_user)

  local hosts=() line h u
  while IFS= read -r line; do hosts+=("$line"); done < <(inventory_hosts)
  step 7 "waiting for SSH on ${#hosts[@]} host(s) (at most ${SSH_WAIT_S} s each)"
  for line in "${hosts[@]}"; do
    read -r _ h u <<<"$line"
    wait_for_ssh "$h" "$u"
  done

  step 8 "configuring the box: ansible-playbook site.yml"
  local extra=()
  if [[ -n ${SSH_PRIVATE_KEY:-} ]]; then extra+=(--private-key "$SSH_PRIVATE_KEY"); fi
  (cd "$ROOT" && "$ROOT/.venv/bin/ansible-playbook" -i "$INVENTORY" "${extra[@]}" ansible/playbooks/site.yml)

  local url="http://$host:8080" key="" more=""
  if ((${#hosts[@]} > 1)); then # a fleet: the gateways answer behind the load balancer
    url=$(pulumi_ stack output gateway_url --stack "$STACK")
    more="   (the first gateway; ${#hosts[@]} hosts in all, see the inventory)"
  fi
  key=$(api_key "$name") || key=""
  step 9 "smoke-testing the gateway at $url"
  if [[ ${SMOKE:-1} == 0 ]]; then
    echo "    skipped (SMOKE=0)"
  elif [[ -z $key ]]; then
    die "no gateway API key found under $ROOT/.secrets/$name/ (set API_KEY_FILE=...)"
  else
    smoke "$url" "$key"
  fi

  cat <<EOF

Tier $TIER is running on $CLOUD (stack $STACK).
  gateway:   $url   (reachable from gatewayCidrs only)
  API key:   ${key:-<see .secrets/$name/>}
  ssh:       ssh $user@$host$more
  inventory: $INVENTORY
  try:       curl -s -H "Authorization: Bearer \$KEY" $url/api/v1/chat -H 'Content-Type: application/json' -d '{"prompt": "hello"}'
  tear down: make destroy CLOUD=$CLOUD TIER=$TIER
EOF
}

destroy() {
  check_cloud
  TOTAL=2
  step 1 "pulumi destroy $STACK"
  need_pulumi
  pulumi_ destroy --yes --stack "$STACK"
  step 2 "removing inventories/$STACK"
  rm -f "$INVENTORY"
  rmdir "$(dirname "$INVENTORY")" 2>/dev/null || true
  echo "    done; the stack's config stays (pulumi stack rm $STACK removes it)"
}

inventory() {
  [[ $STACK =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "STACK must be a plain stack name (got '${STACK}')"
  TOTAL=1
  if [[ -n ${OUTPUTS:-} ]]; then
    step 1 "writing $INVENTORY from $OUTPUTS"
    local outputs
    outputs=$(realpath -m "$OUTPUTS")
    (cd "$PULUMI_DIR" && "$PY" -m hybrid_infra.inventory --stack "$STACK" --outputs "$outputs" --out-dir "$INVENTORY_ROOT")
    return
  fi
  step 1 "writing $INVENTORY from stack $STACK's outputs"
  need_pulumi
  write_inventory
}

configure() { # CI: the stack's config from the environment, checked before preview/up
  check_cloud
  TOTAL=4
  step 1 "checking tools"
  need_pulumi
  configure_stack
}

case "$ACTION" in
  up) up ;;
  destroy) destroy ;;
  inventory) inventory ;;
  configure) configure ;;
  *) die "usage: $0 up|destroy|inventory|configure (with CLOUD=aws|gcp TIER=1..4 or STACK=...)" ;;
esac

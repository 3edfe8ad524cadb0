#!/usr/bin/env bash
# Smoke test a running gateway: /health answers, and a real chat request is answered by a local
# model (no cloud, cost 0). Usage: scripts/smoke.sh URL API_KEY
set -euo pipefail
url="${1:?usage: scripts/smoke.sh URL API_KEY}"
key="${2:?usage: scripts/smoke.sh URL API_KEY}"
url="${url%/}"

echo "==> waiting for $url/health"
for _ in $(seq 1 60); do
  if curl -fsS -m 5 "$url/health" >/dev/null 2>&1; then break; fi
  sleep 2
done
curl -fsS -m 5 "$url/health" >/dev/null || { echo "gateway at $url does not answer /health"; exit 1; }

echo "==> a request without the API key is refused"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
  -d '{"prompt":"hi"}' "$url/api/v1/chat")
[ "$code" = 401 ] || { echo "expected 401 without a key, got $code"; exit 1; }

echo "==> POST /api/v1/chat (a simple prompt: the router sends it to the first local model)"
body=$(curl -fsS -m 180 -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"prompt":"Say hello in one short sentence.","max_tokens":32}' "$url/api/v1/chat")
python3 - "$body" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
answer = (r.get("response") or "").strip()
problems = []
if not answer:
    problems.append("empty answer")
if r.get("backend") not in ("ollama", "openai"):
    problems.append(f"backend {r.get('backend')!r} is not a local engine")
if r.get("cost_usd") not in (0, 0.0):
    problems.append(f"cost {r.get('cost_usd')} is not 0 for a local answer")
if not (r.get("usage") or {}).get("output_tokens"):
    problems.append("no output tokens counted")
if problems:
    print("smoke request failed: " + "; ".join(problems) + "\n" + json.dumps(r, indent=2))
    sys.exit(1)
print(f"    model={r['model']} backend={r['backend']} complexity={r.get('complexity')} "
      f"tokens={r['usage']['input_tokens']}+{r['usage']['output_tokens']} latency={r.get('latency_ms')} ms")
print(f"    answer: {answer[:200]!r}")
PY
echo "==> smoke test passed"

#!/usr/bin/env bash
# `ae serve` against FastAPI + PyTorch serving the same model, side by side on this
# machine: wrk POSTs the same JSON body to /v1/score of each, 1, 16 and 64 connections,
# requests of 1 and of 256 rows, DURATION seconds each, the two servers interleaved
# (ae, torch, ae, torch, … per setting); rows/s and p50/p99 latency, one table.
#   bench/serve/run.sh                 # DURATION=10 ROUNDS=1
# Needs wrk (apt-get install wrk) and a venv with torch, fastapi, uvicorn and the
# Python package (made here on first use in $PEERS_VENVS/venv-serve, from the peers'
# pinned torch requirements).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
venv=${VENV:-${PEERS_VENVS:-$HOME/.cache/peer-venvs}/venv-serve}
peers=${PEERS_DIR:-../shared/bench/peers}
command -v wrk >/dev/null || { echo "bench/serve: error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$peers/requirements-torch.txt" fastapi==0.163.2 uvicorn==0.54.0 maturin==1.16.0 scikit-learn==1.9.1
fi
[ "${SKIP_INSTALL:-0}" = 1 ] || "$venv/bin/pip" install -q ./crates/autoencoder-py
cargo build --release -q -p autoencoder-cli
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# A tabular detector on 20,000 rows of 32 correlated features.
"$venv/bin/python" - "$work" <<'PY'
import json, sys
import numpy as np
rng = np.random.default_rng(0)
z = rng.normal(size=(20000, 8))
x = (z @ rng.normal(size=(8, 32)) + 0.1 * rng.normal(size=(20000, 32))).astype(np.float32)
np.save(f"{sys.argv[1]}/x.npy", x)
for n in (1, 256):
    with open(f"{sys.argv[1]}/body{n}.json", "w") as f:
        json.dump({"rows": x[:n].tolist()}, f)
PY
target/release/ae train "$work/x.npy" --preset tabular --threads 1 --quiet --no-plots -o "$work/m.safetensors"
target/release/ae serve "$work/m.safetensors" --port 8090 --threads 1 2>"$work/ae.log" &
(cd bench/serve && MODEL="$work/m.safetensors" "$venv/bin/uvicorn" torch_server:app --port 8091 --workers 1 --log-level warning 2>"$work/torch.log") &
for port in 8090 8091; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
done
# Both answer the same scores (to float precision) before anything is timed.
"$venv/bin/python" - "$work" <<'PY'
import json, sys, urllib.request
import numpy as np
body = open(f"{sys.argv[1]}/body256.json", "rb").read()
def post(port):
    r = urllib.request.Request(f"http://127.0.0.1:{port}/v1/score", body, {"Content-Type": "application/json"})
    return np.array(json.load(urllib.request.urlopen(r))["scores"])
a, t = post(8090), post(8091)
assert np.allclose(a, t, rtol=1e-5, atol=1e-6), (a[:4], t[:4])
print(f"scores agree: max |ae - torch| = {np.abs(a - t).max():.2e}", file=sys.stderr)
PY
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| server | rows/request | connections | rows/s | p50 (ms) | p99 (ms) | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
  for rows in 1 256; do
    for c in 1 16 64; do
      for srv in ae torch; do
        port=$([ $srv = ae ] && echo 8090 || echo 8091)
        out=$(BODY="$work/body$rows.json" wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s -s bench/serve/post.lua "http://127.0.0.1:$port/v1/score" | grep '^{')
        echo "$out" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read())
rate = r['requests'] * $rows / (r['duration_us'] / 1e6)
print(f\"| $srv | $rows | $c | {rate:,.0f} | {r['p50_us']/1000:.2f} | {r['p99_us']/1000:.2f} | {r['non2xx'] + r['socket_errors']} |\")"
      done
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

#!/usr/bin/env bash
# The importance-weighted bound (--iw-train K) against the ELBO on dynamically binarised
# MNIST: the same model (784-500-500-50, as in docs/results.md), seed, schedule and
# epochs, trained once on the ELBO (K = 1) and once on the K-sample bound; both then
# measured on the test set (binarised once, seed 0): the negative ELBO and the
# importance-sampled −log p(x) with NLL_K samples. Nothing here was tuned on the test set.
#
#   bench/iwae/run.sh                 # K = 5, 30 epochs, NLL with 1000 samples
#   K=50 EPOCHS=200 NLL_K=5000 bench/iwae/run.sh   # Burda et al.'s setting (hours here)
#   KS=5 bench/iwae/run.sh            # only the K-sample run (KS: the K values to train)
set -euo pipefail
cd "$(dirname "$0")/../.."
AE=${AE:-target/release/ae}
DATA=${DATA:-../shared/data/mnist}
K=${K:-5}
EPOCHS=${EPOCHS:-30}
NLL_K=${NLL_K:-1000}
THREADS=${THREADS:-2}
OUT=${OUT:-bench/out/iwae}
mkdir -p "$OUT"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for k in ${KS:-1 $K}; do
  m="$OUT/iw$k-e$EPOCHS.safetensors"
  start=$(date +%s.%N)
  "$AE" train --dataset mnist --data-dir "$DATA" --variational --layers 500,500,50 --loss bce \
    --binarize --kl-warmup 10 --batch-size 100 --epochs "$EPOCHS" --lr-schedule cosine \
    --iw-train "$k" --threads "$THREADS" --quiet --no-plots -o "$m"
  train_s=$(echo "$(date +%s.%N) - $start" | bc)
  start=$(date +%s.%N)
  "$AE" evaluate "$m" --dataset mnist --data-dir "$DATA" --binarize 0 --iw-samples "$NLL_K" \
    --no-pca --threads "$THREADS" --json > "$OUT/iw$k-e$EPOCHS.json"
  eval_s=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$OUT/iw$k-e$EPOCHS.json" "$k" "$train_s" "$eval_s" "$NLL_K" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["vae"]
k, t, e, nk = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"iw_train {k:>3}: test −ELBO {v['negative_elbo']:.2f} (rec {v['reconstruction']:.2f} + KL {v['kl']:.2f}), "
      f"−log p(x) ≈ {v['nll']:.2f} nats (K = {nk}); trained in {t:.0f} s, evaluated in {e:.0f} s")
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

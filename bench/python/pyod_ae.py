#!/usr/bin/env python3
"""The tabular detector from Python beside PyOD's AutoEncoder (PyTorch), side by side.

PyOD's benchmark protocol: for each ODDS set and split seed, a 60/40 split
(`train_test_split(test_size=0.4, random_state=seed)`), z-scores fitted on the training
part (PyOD's `standardizer`), each detector fitted on the training part and scored on
the test part (ROC-AUC). The two run interleaved, one at a time, on the same splits,
with the same thread count; the time is fit + score, from Python.

    python bench/python/pyod_ae.py                       # mnist, satellite, shuttle; 3 splits
    python bench/python/pyod_ae.py --sets satellite --splits 10 --threads 2

Run it in a virtual environment holding both packages (bench/README.md):
`autoencoder` (pip install ./crates/autoencoder-py) and pyod with torch
(../shared/bench/peers/requirements-sk.txt and requirements-torch.txt).
"""
import argparse
import os
import statistics
import time

import numpy as np
import scipy.io
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ODDS = os.environ.get("ODDS_DIR", os.path.join(ROOT, "..", "shared", "data", "odds"))


def load(name):
    m = scipy.io.loadmat(os.path.join(ODDS, f"{name}.mat"))
    return m["X"].astype(np.float64), m["y"].ravel().astype(int)


def standardize(train, test):
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd[sd == 0] = 1.0
    return (train - mu) / sd, (test - mu) / sd


def ours(threads):
    from autoencoder import AnomalyDetector

    def run(X_train, X_test, seed):
        det = AnomalyDetector(contamination=0.1, seed=seed, threads=threads).fit(X_train)
        return det.decision_function(X_test)

    return run


def ours_as_pyod(threads):
    """The same work as PyOD's AutoEncoder defaults: 64-32-64 ReLU units with dropout
    0.2, z-scores, a linear output, MSE, Adam 1e-3, batches of 32, 10 epochs, one pass
    (PyOD's also has batch norm, which dense models here do not)."""
    from autoencoder import AnomalyDetector

    def run(X_train, X_test, seed):
        det = AnomalyDetector(contamination=0.1, preset=None, layers=(64, 32), activation="relu",
                              code_activation="relu", dropout=0.2, normalize="zscore", output_activation="linear",
                              batch_size=32, epochs=10, seed=seed, threads=threads).fit(X_train)
        return det.decision_function(X_test)

    return run


def pyod(threads):
    import torch
    from pyod.models.auto_encoder import AutoEncoder

    torch.set_num_threads(threads)

    def run(X_train, X_test, seed):
        torch.manual_seed(seed)
        clf = AutoEncoder(contamination=0.1, random_state=seed, verbose=0)
        clf.fit(X_train)
        return clf.decision_function(X_test)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="mnist,satellite,shuttle")
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    systems = {"autoencoder": ours(a.threads), "autoencoder, PyOD's settings": ours_as_pyod(a.threads),
               "pyod AutoEncoder": pyod(a.threads)}
    import pyod as pyod_pkg
    import torch

    print(f"threads {a.threads}; pyod {pyod_pkg.__version__}, torch {torch.__version__}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    for name in a.sets.split(","):
        X, y = load(name)
        res = {s: {"auc": [], "sec": []} for s in systems}
        for seed in range(a.splits):
            X_train, X_test, _, y_test = train_test_split(X, y, test_size=0.4, random_state=seed)
            X_train, X_test = standardize(X_train, X_test)
            for s, run in systems.items():  # interleaved: one split, both systems
                t0 = time.perf_counter()
                scores = run(X_train.astype(np.float32), X_test.astype(np.float32), seed)
                res[s]["sec"].append(time.perf_counter() - t0)
                res[s]["auc"].append(roc_auc_score(y_test, scores))
            print(f"  {name} split {seed}: " + ", ".join(
                f"{s} {res[s]['auc'][-1]:.4f} in {res[s]['sec'][-1]:.1f} s" for s in systems), flush=True)
        rows.append((name, X.shape, res))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}\n")
    print("| set | rows × cols | detector | ROC-AUC | fit + score (s) | PyOD AE's time / this |")
    print("|---|---|---|---|---|---|")
    for name, shape, res in rows:
        pm = statistics.median(res["pyod AutoEncoder"]["sec"])
        for s in systems:
            m = statistics.median(res[s]["sec"])
            print(f"| {name} | {shape[0]} × {shape[1]} | {s} | {statistics.mean(res[s]['auc']):.4f} | {m:.2f} | {pm / m:.1f}× |")
    print(f"\nROC-AUC: mean over {a.splits} splits; seconds: median of fit + score on the same splits.")


if __name__ == "__main__":
    main()

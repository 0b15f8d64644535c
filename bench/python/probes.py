#!/usr/bin/env python3
"""The representation probes at full size, beside scikit-learn's on the same features.

Trains nothing: give model files (as `ae train` writes them) and a dataset; for each
model, its codes, PCA's codes of the same width and the raw rows are probed by this
package (`autoencoder.probe`, the library's probes: kNN k = 5 Euclidean and cosine,
logistic regression L2 C = 1, k-means ARI/NMI) and by scikit-learn
(KNeighborsClassifier brute force, LogisticRegression lbfgs, KMeans), with the time of
each.

    python bench/python/probes.py --data fashion-mnist MODEL.safetensors [MODEL2 ...]
    python bench/python/probes.py --data mnist --no-raw-logistic A.safetensors

Datasets are read from Debian's folder or $AE_DATA_DIR (IDX files).
"""
import argparse
import gzip
import os
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier

import autoencoder
from autoencoder import probe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRS = {
    "fashion-mnist": os.environ.get("AE_DATA_DIR", "/usr/share/datasets/fashion-mnist"),
    "mnist": os.environ.get("AE_DATA_DIR", os.path.join(ROOT, "..", "shared", "data", "mnist")),
}


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(name):
    d = DIRS[name]
    def find(stem):
        for ext in ("", ".gz"):
            p = os.path.join(d, stem + ext)
            if os.path.exists(p):
                return p
        raise SystemExit(f"{name}: no {stem}[.gz] in {d}")
    x = lambda s: (idx(find(f"{s}-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0)
    y = lambda s: idx(find(f"{s}-labels-idx1-ubyte")).astype(np.int64)
    return x("train"), y("train"), x("t10k"), y("t10k")


def timed(f):
    t = time.perf_counter()
    v = f()
    return v, time.perf_counter() - t


def sklearn_probe(Xa, ya, Xb, yb, raw_logistic, seed):
    out = {}
    for metric in ("euclidean", "cosine"):
        knn = KNeighborsClassifier(5, metric=metric, algorithm="brute", n_jobs=1)
        out[f"knn_{metric}"] = timed(lambda: knn.fit(Xa, ya).score(Xb, yb))
    if raw_logistic:
        out["logistic"] = timed(lambda: LogisticRegression(max_iter=1000).fit(Xa, ya).score(Xb, yb))
    k = len(np.unique(yb))
    clusters, sec = timed(lambda: KMeans(k, n_init=1, random_state=seed).fit_predict(Xb))
    out["kmeans_ari"] = (adjusted_rand_score(yb, clusters), sec)
    out["kmeans_nmi"] = (normalized_mutual_info_score(yb, clusters), 0.0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default="fashion-mnist", choices=sorted(DIRS))
    ap.add_argument("--no-raw-logistic", action="store_true", help="skip scikit-learn's logistic regression on raw pixels (minutes)")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    Xa, ya, Xb, yb = load(a.data)
    print(f"{a.data}: {len(Xa)} training rows, {len(Xb)} test rows; load average {os.getloadavg()[0]:.2f}; threads {a.threads}")
    print("| model | representation | width | kNN eucl | kNN cos | logistic | ARI | NMI | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    raw_done = False
    for path in a.models:
        est = autoencoder.load(path)
        est.set_params(threads=a.threads)
        k = est.model_.code_dim
        reps = {"codes": (est.transform(Xa), est.transform(Xb))}
        pca = PCA(k, random_state=0).fit(Xa)
        reps[f"PCA-{k}"] = (pca.transform(Xa).astype(np.float32), pca.transform(Xb).astype(np.float32))
        if not raw_done:
            reps["raw"] = (Xa, Xb)
            raw_done = True
        name = os.path.basename(path)
        for rep, (Fa, Fb) in reps.items():
            s, sec = timed(lambda: probe.probe(Fa, ya, Fb, yb, seed=a.seed, threads=a.threads))
            print(f"| {name} | {rep} | {Fa.shape[1]} | {s['knn_euclidean']:.4f} | {s['knn_cosine']:.4f} | {s['logistic']:.4f} "
                  f"| {s['kmeans_ari']:.4f} | {s['kmeans_nmi']:.4f} | {sec:.1f} |", flush=True)
            if a.no_sklearn:
                continue
            t = sklearn_probe(Fa, ya, Fb, yb, rep != "raw" or not a.no_raw_logistic, a.seed)
            cell = lambda key: f"{t[key][0]:.4f}" if key in t else "—"
            total = sum(v[1] for v in t.values())
            print(f"| {name} | {rep}, scikit-learn | {Fa.shape[1]} | {cell('knn_euclidean')} | {cell('knn_cosine')} | "
                  f"{cell('logistic')} | {cell('kmeans_ari')} | {cell('kmeans_nmi')} | {total:.1f} |", flush=True)


if __name__ == "__main__":
    main()

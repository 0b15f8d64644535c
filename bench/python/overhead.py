#!/usr/bin/env python3
"""The cost of calling the library from Python: `Autoencoder.fit` beside `ae train` on
Fashion-MNIST with the same model, settings, seed and thread count, in interleaved
rounds (round r: seed r; one process at a time).

Both jobs are timed whole, as a user runs them: `ae train` (read the IDX files, train,
write the model) as a process, and in Python reading the same files with numpy, `fit`
and `save` (the interpreter's start and the import of the package included). The
training seconds each reports are printed too.

    python bench/python/overhead.py                 # model A (784-64-784), 10 epochs, 3 rounds
    python bench/python/overhead.py --layers 512,256,32 --epochs 3 --rounds 2

Needs `ae` built (cargo build --release) and the package installed
(pip install ./crates/autoencoder-py) in the running interpreter.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AE = os.environ.get("AE_BIN", os.path.join(ROOT, "target", "release", "ae"))
FASHION = os.environ.get("AE_DATA_DIR", "/usr/share/datasets/fashion-mnist")

PY_JOB = """
import time
t_start = time.perf_counter()
import gzip, json, sys
import numpy as np
import autoencoder
t_imported = time.perf_counter()
path, layers, epochs, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with gzip.open(path + "/train-images-idx3-ubyte.gz") as f:
    X = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
X = (X.astype(np.float32) / 255.0)
t_read = time.perf_counter()
est = autoencoder.Autoencoder(layers=layers, epochs=epochs, seed=seed, threads=1)
est.fit(X)
t_fit = time.perf_counter()
est.save(out)
t_saved = time.perf_counter()
print(json.dumps({"train_seconds": sum(est.history_["seconds"]), "loss": est.history_["loss"][-1],
                  "import": t_imported - t_start, "read": t_read - t_imported, "fit": t_fit - t_read,
                  "save": t_saved - t_fit}))
"""


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    return wall, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", default="64")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    res = {"ae train": [], "Autoencoder.fit": []}
    train = {"ae train": [], "Autoencoder.fit": []}
    parts = {"import": [], "read": [], "fit": [], "save": []}
    print(f"model --layers {a.layers}, {a.epochs} epochs, 1 thread; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            wall, out = timed([AE, "train", "--dataset", "fashion-mnist", "--data-dir", FASHION, "--offline",
                               "--layers", a.layers, "--epochs", str(a.epochs), "--seed", str(r), "--threads", "1",
                               "--no-plots", "--json", "-q", "-o", os.path.join(tmp, "cli.safetensors")])
            rep = json.loads(out)
            res["ae train"].append(wall)
            train["ae train"].append(rep["seconds"])
            wall, out = timed([sys.executable, "-c", PY_JOB, FASHION, a.layers, str(a.epochs), str(r),
                               os.path.join(tmp, "py.safetensors")])
            rep = json.loads(out)
            res["Autoencoder.fit"].append(wall)
            train["Autoencoder.fit"].append(rep["train_seconds"])
            for k in parts:
                parts[k].append(rep[k])
            print(f"  round {r}: ae train {res['ae train'][-1]:.2f} s (training {train['ae train'][-1]:.2f} s), "
                  f"Python {res['Autoencoder.fit'][-1]:.2f} s (training {train['Autoencoder.fit'][-1]:.2f} s)", flush=True)
    cli, py = statistics.median(res["ae train"]), statistics.median(res["Autoencoder.fit"])
    tc, tp = statistics.median(train["ae train"]), statistics.median(train["Autoencoder.fit"])
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print("| job | whole job (s) | training (s) |\n|---|---|---|")
    print(f"| ae train | {cli:.2f} | {tc:.2f} |")
    print(f"| Python: read, Autoencoder.fit, save | {py:.2f} | {tp:.2f} |")
    print(f"| Python / ae | {py / cli:.3f} | {tp / tc:.3f} |")
    fit = statistics.median(parts["fit"])
    print(f"\nPython's job, medians: import {statistics.median(parts['import']):.2f} s, read the IDX file with "
          f"gzip + numpy {statistics.median(parts['read']):.2f} s, fit {fit:.2f} s, save "
          f"{statistics.median(parts['save']):.2f} s.")
    print(f"The fit call alone against the whole ae train process (which also starts, reads and saves): "
          f"{fit:.2f} s / {cli:.2f} s = {fit / cli:.3f}")


if __name__ == "__main__":
    main()

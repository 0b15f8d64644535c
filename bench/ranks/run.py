#!/usr/bin/env python3
"""Micro-batches and MPI ranks on Fashion-MNIST: what the fixed-tree scheme costs at one
thread, and what a second rank gives, beside a second thread.

For models A (784-64-784) and B (784-512-256-32-…) of bench/compare (relu, sigmoid
output, BCE, Adam 1e-3, batch 128, 10 % validation), in interleaved rounds (round r:
seed r; the configurations one after another within a round, so the machine's drift
hits them alike), each configuration's training rows per second (median of epochs
2..N, then median over rounds):

    whole   1 thread, whole batches (today's default)
    micro   1 thread, --micro-batch 32 (4 micro-batches per batch)
    whole2  1 process, 2 threads, whole batches
    micro2  1 process, 2 threads, --micro-batch 32
    mpi2    mpirun -n 2, 1 thread each, --micro-batch 32

and the bytes each rank sends per step (its nodes of the tree: parameters × 4 bytes ×
nodes; with 2 ranks and 4 micro-batches, one node each). Needs `ae` built with
`--features mpi` (this script builds it) and OpenMPI's mpirun.

    python bench/ranks/run.py --rounds 3 --epochs 4
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AE = os.path.join(ROOT, "target", "release", "ae")
LAYERS = {"A": ["--layers", "64"], "B": ["--layers", "512,256,32"]}
CONFIGS = ["whole", "micro", "whole2", "micro2", "mpi2"]


def train(model, config, seed, epochs, out_dir):
    path = os.path.join(out_dir, f"{model}_{config}_{seed}.ae")
    threads = "2" if config in ("whole2", "micro2") else "1"
    cmd = [AE, "train", "--dataset", "fashion-mnist", *LAYERS[model], "--activation", "relu",
           "--output-activation", "sigmoid", "--loss", "bce", "--optimizer", "adam", "--lr", "0.001",
           "--batch-size", "128", "--epochs", str(epochs), "--validation-split", "0.1",
           "--seed", str(seed), "--threads", threads, "-o", path, "--json", "--quiet", "--no-plots"]
    if config != "whole" and config != "whole2":
        cmd += ["--micro-batch", "32"]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    if config == "mpi2":
        cmd = ["mpirun", "-n", "2", "--bind-to", "core"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{model} {config} failed:\n{p.stderr[-2000:]}")
    j = json.loads(p.stdout[p.stdout.index("{"):])
    rates = [h["rows_per_second"] for h in j["history"]]
    with open(path, "rb") as f:
        digest = hash(f.read())
    return statistics.median(rates[1:]), j["parameters"], j["train_loss"], digest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "autoencoder-cli", "--features", "mpi"],
                       cwd=ROOT, check=True)
    with open("/proc/loadavg") as f:
        print(f"load before: {f.read().split()[:3]}")
    rates = {(m, c): [] for m in LAYERS for c in CONFIGS}
    params, same = {}, {}
    with tempfile.TemporaryDirectory() as out:
        for r in range(a.rounds):
            for m in LAYERS:
                digests = {}
                for c in CONFIGS:
                    rate, params[m], loss, digests[c] = train(m, c, r, a.epochs, out)
                    rates[(m, c)].append(rate)
                    print(json.dumps({"round": r, "model": m, "config": c, "rows_per_s": round(rate),
                                      "train_loss": loss}), flush=True)
                # The micro-batch runs agree bit for bit (threads are not in the bytes
                # that matter here: compare the 1-thread runs).
                same[m] = same.get(m, True) and digests["micro"] == digests["mpi2"]
    with open("/proc/loadavg") as f:
        print(f"load after: {f.read().split()[:3]}")
    print("\n| model | params | whole 1t | micro 1t | micro cost | whole 2t | micro 2t | mpirun -n 2 | 2 ranks / 1 | bytes sent per rank per step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in LAYERS:
        med = {c: statistics.median(rates[(m, c)]) for c in CONFIGS}
        print(f"| {m} | {params[m]:,} | {med['whole']:,.0f} | {med['micro']:,.0f} | "
              f"{med['whole'] / med['micro']:.2f}× | {med['whole2']:,.0f} | {med['micro2']:,.0f} | "
              f"{med['mpi2']:,.0f} | {med['mpi2'] / med['micro']:.2f}× | {4 * params[m] / 1e6:.2f} MB |")
    print(f"\nmicro (1 thread) and mpirun -n 2 wrote the same model bytes: {same}")


if __name__ == "__main__":
    main()

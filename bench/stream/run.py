#!/usr/bin/env python3
"""Streamed training on a Parquet file larger than the memory budget, beside training in
memory on a slice of it: peak RSS (`/usr/bin/time -v`), training throughput (rows per
second of the training epochs, from `ae train --json`), wall time, and the test ROC-AUC
on planted outliers.

    python bench/stream/run.py                    # 200 M rows (16 GB), --memory-budget 1G
    python bench/stream/run.py --rows 4000000 --slice-rows 1000000 --budget 256M   # a smoke test

The data (seeded, written once into --dir and reused): 20 float32 features, a mixture
of three Gaussian clusters in a 5-dimensional subspace plus noise (sd 0.1), and 0.1 %
planted outliers (rows moved off the subspace by noise of sd 1.5 in every feature, about
the data's own scale), labelled in a `label` column; row
groups of 1 M rows, uncompressed (random floats do not compress). `big.parquet` is the
training file, `slice.parquet` its first --slice-rows rows (2 GB by default), and
`test.parquet` 1 M rows from another seed, for the ROC-AUC.

Both runs train the tabular detector (`--preset tabular`: the validation split, two
passes with the trimmed rows, the quantile threshold) for --epochs epochs per pass
(the preset's 100 would take days at this size), one after the other, with the same
threads. The slice run trains in memory (its rows fit the default budget); the big run
streams (`--memory-budget`). Needs `ae` ($AE_BIN, else target/release/ae) and pyarrow.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
COLS = 20
GROUP = 1_000_000


def ae_binary():
    env = os.environ.get("AE_BIN")
    if env:
        return env
    p = ROOT / "target" / "release" / "ae"
    if p.exists():
        return str(p)
    sys.exit("error: no release ae binary: cargo build --release -p autoencoder-cli (or set AE_BIN)")


def rows_of(rng, n, basis, centers):
    """n rows of the mixture, 0.1 % of them outliers, and their labels."""
    k = rng.integers(0, len(centers), n)
    z = rng.standard_normal((n, basis.shape[0])).astype(np.float32) + centers[k]
    x = z @ basis + 0.1 * rng.standard_normal((n, COLS)).astype(np.float32)
    y = (rng.random(n) < 0.001).astype(np.int8)
    out = np.flatnonzero(y)
    # Off the clusters' subspace: noise of about the data's scale in every direction.
    x[out] += 1.5 * rng.standard_normal((len(out), COLS)).astype(np.float32)
    return x.astype(np.float32), y


def write(path, n, seed, basis, centers):
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == n:
        return
    rng = np.random.default_rng(seed)
    schema = pa.schema([(f"f{j}", pa.float32()) for j in range(COLS)] + [("label", pa.int8())])
    tmp = path.with_suffix(".part")
    with pq.ParquetWriter(tmp, schema, compression="none") as w:
        left = n
        while left > 0:
            m = min(GROUP, left)
            x, y = rows_of(rng, m, basis, centers)
            cols = [pa.array(x[:, j]) for j in range(COLS)] + [pa.array(y)]
            w.write_table(pa.Table.from_arrays(cols, schema=schema), row_group_size=GROUP)
            left -= m
    tmp.rename(path)


def timed(cmd):
    """Run cmd under /usr/bin/time -v: (its JSON stdout, peak RSS in bytes, wall seconds)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    notes = [l for l in p.stderr.splitlines() if l.startswith("streaming")]
    return json.loads(p.stdout), rss, wall, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000_000)
    ap.add_argument("--slice-rows", type=int, default=25_000_000)
    ap.add_argument("--budget", default="1G")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=ROOT / "target" / "bench-stream")
    ap.add_argument("--out", type=Path, help="append the results (one JSON line) here")
    a = ap.parse_args()
    ae = ae_binary()
    a.dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((5, COLS)).astype(np.float32)
    centers = (2.0 * rng.standard_normal((3, basis.shape[0]))).astype(np.float32)
    big, part, test = a.dir / "big.parquet", a.dir / "slice.parquet", a.dir / "test.parquet"
    t0 = time.time()
    write(big, a.rows, 1, basis, centers)
    write(part, a.slice_rows, 1, basis, centers)  # the same seed: big's first rows
    write(test, 1_000_000, 2, basis, centers)
    print(f"data ready in {time.time() - t0:.0f} s: {big.stat().st_size / 1e9:.1f} GB", file=sys.stderr)

    common = ["--label-column", "label", "--preset", "tabular", "--epochs", str(a.epochs),
              "--threads", str(a.threads), "--threshold", "contamination=0.001", "--json", "--no-plots"]
    results = {"rows": a.rows, "slice_rows": a.slice_rows, "budget": a.budget, "epochs": a.epochs,
               "threads": a.threads, "ae": ae, "load_before": os.getloadavg()[0]}
    for name, path, extra in [("in_memory_slice", part, []), ("streamed", big, ["--stream", "--memory-budget", a.budget])]:
        model = a.dir / f"{name}.safetensors"
        report, rss, wall, notes = timed([ae, "train", str(path), *common, *extra, "-o", str(model)])
        hist = report["history"]
        scored = subprocess.run([ae, "score", str(model), str(test), "--label-column", "label", "--json", "-o", "/dev/null"],
                                capture_output=True, text=True, check=True)
        auc = json.loads(scored.stdout)["roc_auc"]
        results[name] = {
            "peak_rss_bytes": rss,
            "wall_seconds": wall,
            "epoch_rows_per_second": [e["rows_per_second"] for e in hist],
            "rows_per_wall_second": (a.rows if name == "streamed" else a.slice_rows) / wall,
            "test_roc_auc": auc,
            "threshold": report["detector"]["threshold"],
            "notes": notes,
        }
        print(json.dumps({name: results[name]}), file=sys.stderr)
    s, m = results["streamed"], results["in_memory_slice"]
    ratio = np.median(s["epoch_rows_per_second"]) / np.median(m["epoch_rows_per_second"])
    results["throughput_ratio"] = ratio
    results["wall_ratio"] = s["rows_per_wall_second"] / m["rows_per_wall_second"]
    line = json.dumps(results)
    print(line)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")
    print(f"streamed: peak RSS {s['peak_rss_bytes'] / 2**30:.2f} GiB, {np.median(s['epoch_rows_per_second']):,.0f} rows/s "
          f"({ratio:.2f}× in memory's {np.median(m['epoch_rows_per_second']):,.0f}), wall {s['wall_seconds']:.0f} s, "
          f"test ROC-AUC {s['test_roc_auc']:.4f} (in memory on the slice {m['test_roc_auc']:.4f})", file=sys.stderr)


if __name__ == "__main__":
    main()

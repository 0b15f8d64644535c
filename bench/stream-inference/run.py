#!/usr/bin/env python3
"""`ae score`, `ae encode`, `ae reconstruct` and `ae evaluate` on a Parquet file, its
rows read whole and a part at a time (`--stream`): seconds and peak RSS
(`/usr/bin/time`), and whether the two outputs are the same table (for `evaluate`, the
same numbers in its `--json` report, timings aside; streamed, its PCA baseline is
fitted in two more passes over the parts, and `--no-pca` shows what they cost). Prints
one markdown table.

    python bench/stream-inference/run.py                        # 10 M rows (1.2 GB)
    python bench/stream-inference/run.py --rows 1000000         # a smoke test
    python bench/stream-inference/run.py --commands evaluate    # one command

The data (seeded, written once into --dir and reused): 20 float32 features, rank 4 plus
noise (sd 0.1), 1 % of the rows shifted by noise of sd 3 and labelled in a `label`
column, a `row` column of row numbers; row groups of 262,144 rows. The detector
(`--preset tabular --threshold contamination=0.01`) is trained on the first 100,000 rows.
Every command runs with `--label-column label --id-column row -o OUT.parquet`; `score`
with `--json`. Needs `ae` ($AE_BIN, else target/release/ae), numpy and pyarrow, and
GNU time (`/usr/bin/time`).
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
COLS, GROUP = 20, 1 << 18


def ae_binary():
    env = os.environ.get("AE_BIN")
    p = Path(env) if env else ROOT / "target" / "release" / "ae"
    if not p.exists():
        sys.exit("error: no release ae binary: cargo build --release -p autoencoder-cli (or set AE_BIN)")
    return str(p)


def write_data(path, train, rows):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, COLS)).astype(np.float32)
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        x = rng.normal(size=(n, 4)).astype(np.float32) @ w + 0.1 * rng.normal(size=(n, COLS)).astype(np.float32)
        out = rng.random(n) < 0.01
        x[out] += rng.normal(scale=3.0, size=(out.sum(), COLS)).astype(np.float32)
        cols = {f"f{j}": x[:, j] for j in range(COLS)}
        cols["row"] = np.arange(start, start + n, dtype=np.int64)
        cols["label"] = out.astype(np.int64)
        t = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(path, t.schema)
            pq.write_table(t.slice(0, 100_000), train)
        writer.write_table(t, row_group_size=GROUP)
    writer.close()


def timed(cmd):
    """(seconds, peak RSS in MiB, standard output) of one run."""
    run = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{run.stderr}")
    secs, kib = re.findall(r"TIME (\S+) (\d+)", run.stderr)[-1]
    return float(secs), int(kib) / 1024, run.stdout


def numbers(report):
    """`ae evaluate --json`'s report without its timings."""
    r = json.loads(report)
    for k in ("inference_seconds", "inference_rows_per_second"):
        r.pop(k)
    r.get("pca", {}).pop("fit_seconds", None)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--dir", default=str(ROOT / "target" / "bench-stream-inference"))
    ap.add_argument("--commands", default="score,encode,reconstruct,evaluate", help="comma-separated")
    a = ap.parse_args()
    ae, d = ae_binary(), Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    big, train, det = d / f"big-{a.rows}.parquet", d / f"train-{a.rows}.parquet", d / f"det-{a.rows}.safetensors"
    if not big.exists():
        write_data(big, train, a.rows)
    if not det.exists():
        subprocess.run([ae, "train", str(train), "--label-column", "label", "--id-column", "row", "--preset", "tabular",
                        "--threshold", "contamination=0.01", "--no-plots", "-q", "-o", str(det)], check=True)
    print(f"load before: {os.getloadavg()[0]:.2f}; {a.rows} rows of {COLS} features, {big.stat().st_size / 1e9:.2f} GB\n")
    print("| command | read whole | `--stream` | same table |")
    print("|---|---|---|---|")
    for command in a.commands.split(","):
        cells, outs = [], []
        for mode in ["whole", "stream"]:
            out = d / f"{command}-{mode}.parquet"
            cmd = [ae, command, str(det), str(big), "--label-column", "label", "--id-column", "row"]
            cmd += ["--json"] if command in ("score", "evaluate") else []
            cmd += ["-o", str(out)] if command != "evaluate" else []
            cmd += ["--stream"] if mode == "stream" else []
            secs, mib, stdout = timed(cmd)
            cells.append(f"{secs:.2f} s, {mib:,.0f} MiB")
            outs.append(numbers(stdout) if command == "evaluate" else pq.read_table(out))
        same = outs[0] == outs[1] if command == "evaluate" else outs[0].equals(outs[1])
        print(f"| `ae {command}` | {cells[0]} | {cells[1]} | {same} |")
        if command == "evaluate":
            secs, mib, _ = timed(cmd + ["--no-pca"])
            print(f"| `ae evaluate --no-pca` | | {secs:.2f} s, {mib:,.0f} MiB | |")


if __name__ == "__main__":
    main()

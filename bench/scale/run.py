#!/usr/bin/env python3
"""Wall time of scoring a 1,000,000-row Parquet dataset: `ae score` in one process beside
the Spark and Ray recipes of docs/scale.md (examples/spark_score.py under spark-submit in
local mode, examples/ray_score.py on a local Ray cluster), each run as a user runs it
(a process, start-up included), in interleaved rounds (one process at a time). Every
run's scores are checked against `ae score`'s, bit for bit, joined on the row id.

    python bench/scale/run.py                       # 1 M rows, 8 files, 2 CPUs, 3 rounds
    python bench/scale/run.py --rows 100000 --rounds 1   # a smoke test

The data (seeded): a `row` column (0..n-1) and 20 float32 features of rank 4 plus noise,
written as one file (8 row groups) for `ae score` and as a folder of 8 files (one
partition or block each) for Spark and Ray. The model: `ae train --variational
--layers 16,4`, 5 epochs on a seeded sample of 50,000 rows; its score is elbo, whose
samples are drawn at each row's global index, so a part scored at a wrong offset would
show. Also timed: the Python package in one process (read the file with pyarrow,
`Model.score` with every CPU given, write Parquet), the library the recipes run.

Needs `ae` ($AE_BIN, else target/release/ae, else target/debug/ae: say which in any
result, a debug build is several times slower), the package, pyspark, ray[data]
(crates/autoencoder-py/requirements-scale.txt) and Java in the running interpreter.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def ae_binary():
    env = os.environ.get("AE_BIN")
    if env:
        return env
    for p in (ROOT / "target" / "release" / "ae", ROOT / "target" / "debug" / "ae"):
        if p.exists():
            return str(p)
    sys.exit("error: no ae binary: cargo build --release (or set AE_BIN)")


PYTHON_JOB = """
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from autoencoder import Model
model_path, data, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = pq.read_table(data)
x = np.column_stack([t.column(c).to_numpy() for c in t.column_names if c != "row"]).astype(np.float32)
_, scores, _ = Model.load(model_path).score(np.ascontiguousarray(x), None, threads, 0)
pq.write_table(pa.table({"id": t.column("row"), "score": scores}), out)
"""


def make_data(d, rows, parts, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, 4)).astype(np.float32)
    w = rng.normal(size=(4, 20)).astype(np.float32)
    x = z @ w + np.float32(0.3) * rng.normal(size=(rows, 20)).astype(np.float32)
    cols = {"row": np.arange(rows, dtype=np.int64)}
    cols.update({f"f{j:02d}": x[:, j] for j in range(20)})
    t = pa.table(cols)
    size = -(-rows // parts)
    pq.write_table(t, d / "whole.parquet", row_group_size=size)
    (d / "parts").mkdir()
    for i in range(parts):
        pq.write_table(t.slice(i * size, size), d / "parts" / f"part-{i:05d}.parquet")
    sample = np.sort(rng.choice(rows, size=min(50_000, rows), replace=False))
    pq.write_table(t.take(sample), d / "sample.parquet")


def read_scores(path):
    """(ids, scores) of a Parquet file or folder, sorted by id."""
    t = pq.read_table(path)
    order = np.argsort(t.column("id").to_numpy(), kind="stable")
    return t.column("id").to_numpy()[order], t.column("score").to_numpy()[order]


def files(path):
    return len([p for p in Path(path).iterdir() if p.suffix == ".parquet"]) if Path(path).is_dir() else 1


def run(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, cmd[:3]))} ... exited {p.returncode}:\n{p.stderr[-3000:]}")
    return seconds


def load():
    return os.getloadavg()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--parts", type=int, default=8, help="files of the folder Spark and Ray read [default: 8]")
    p.add_argument("--cpus", type=int, default=2, help="local[N] for Spark, Ray's CPUs and its actors, ae's and Python's threads")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--keep", help="a folder to keep the data and outputs in [default: a temporary one]")
    a = p.parse_args()
    ae = ae_binary()
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        sys.exit("error: no java for Spark: apt-get install default-jre-headless")
    spark_submit = Path(sys.executable).parent / "spark-submit"
    if not spark_submit.exists():
        sys.exit(f"error: no {spark_submit}: pip install -r crates/autoencoder-py/requirements-scale.txt")

    d = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ae-scale-"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"ae: {ae}\nfolder: {d}\nload average before: {load()}", flush=True)
    ae = shutil.copy2(ae, d / "ae")  # the binary timed stays the same should a build replace it meanwhile
    make_data(d, a.rows, a.parts, a.seed)
    model = d / "vae.safetensors"
    seconds = run([ae, "train", d / "sample.parquet", "--id-column", "row", "--layers", "16,4", "--epochs", "5",
                   "--variational", "--seed", "1", "--threads", a.cpus, "-o", model, "--no-plots", "-q"])
    print(f"data and model ready ({a.rows} rows; training {seconds:.1f} s)", flush=True)

    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    jobs = {
        "ae score (one process)": lambda out: [ae, "score", model, d / "whole.parquet", "--id-column", "row",
                                               "--threads", a.cpus, "-o", f"{out}.parquet"],
        "Python package (one process)": lambda out: [sys.executable, "-c", PYTHON_JOB, model, d / "whole.parquet",
                                                     f"{out}.parquet", a.cpus],
        f"Spark local[{a.cpus}], mapInPandas": lambda out: [
            spark_submit, "--master", f"local[{a.cpus}]", "--driver-memory", "2g",
            "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.files.openCostInBytes=1g",  # a partition per file
            EXAMPLES / "spark_score.py", model, d / "parts", out],
        f"Ray, {a.cpus} CPUs, map_batches": lambda out: [
            sys.executable, EXAMPLES / "ray_score.py", model, d / "parts", out, "--num-cpus", a.cpus, "--actors", a.cpus,
            "--blocks", a.parts],
    }
    times = {name: [] for name in jobs}
    parts = {}
    want = None
    for r in range(a.rounds):
        for k, (name, cmd) in enumerate(jobs.items()):
            out = d / f"out-{r}-{k}"
            times[name].append(run(cmd(out), env=env))
            path = out if out.exists() else Path(f"{out}.parquet")
            ids, scores = read_scores(path)
            if want is None:  # the first job is ae score: the reference
                want = scores
                assert np.array_equal(ids, np.arange(a.rows)), "ae score's ids are not 0..n-1"
            if not np.array_equal(ids, np.arange(a.rows)):
                sys.exit(f"error: {name}: the ids are not the rows 0..n-1, each once")
            differ = np.count_nonzero(scores.view(np.uint64) != want.view(np.uint64))
            if differ:
                sys.exit(f"error: {name}: {differ} of {a.rows} scores differ from ae score's bits")
            parts[name] = files(path)
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            print(f"round {r + 1}: {name}: {times[name][-1]:.1f} s, {parts[name]} output file(s), equal bits", flush=True)
    print(f"load average after: {load()}\n")
    print(f"| {a.rows:,} rows, {a.cpus} CPUs | wall time, median (s) | each round (s) | output files | scores |")
    print("|---|---:|---|---:|---|")
    for name, t in times.items():
        print(f"| {name} | {statistics.median(t):.1f} | {', '.join(f'{s:.1f}' for s in t)} | {parts[name]} | = ae score, bit for bit |")
    if not a.keep:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Score (or encode) a Parquet dataset with a trained model in Spark (`mapInPandas`).

    python examples/spark_score.py model.safetensors data/ scores/ --master 'local[4]'
    spark-submit --master yarn examples/spark_score.py model.safetensors hdfs:///data/ hdfs:///scores/

The model file's bytes are broadcast once to each executor; each task builds the model
from them once and scores its partition's batches with one thread (Spark already runs a
task per core). DATA (a Parquet file or folder) must hold each row's global row number
in --id-column: 0, 1, ..., n-1 in the order `ae score` reads the whole dataset. The
variational model's elbo score draws its samples at that index, so each run of
consecutive row numbers is scored with `row_offset=` its first one, and the scores equal
`ae score MODEL DATA --id-column row` on the whole dataset bit for bit, however Spark
splits the rows. OUTPUT is a Parquet folder of `id` (int64) and `score` (float64), as
`ae score -o scores.parquet` writes them, and with --encode the codes `z1..zk` (float32)
as `ae encode` gives them. Needs pyspark, pandas and pyarrow besides autoencoder.
"""

import argparse
import os
import sys

import numpy as np
import pandas as pd

from autoencoder import Model


def runs(ids):
    """(start, stop) of each run of consecutive row numbers in ``ids``."""
    cuts = (np.flatnonzero(np.diff(ids) != 1) + 1).tolist()
    return zip([0, *cuts], [*cuts, len(ids)])


def score_batch(model, batch, id_column, columns, kind=None, encode=False):
    """``{"id", "score"[, "z1".."zk"]}`` for one batch (a DataFrame or a dict of arrays)
    whose ``id_column`` holds each row's global row number."""
    ids = np.asarray(batch[id_column], dtype=np.int64)
    x = np.empty((len(ids), len(columns)), dtype=np.float32)
    for j, c in enumerate(columns):
        x[:, j] = np.asarray(batch[c], dtype=np.float32)  # each value's nearest f32, as ae reads it
    scores = np.empty(len(ids), dtype=np.float64)
    for a, b in runs(ids):
        _, scores[a:b], _ = model.score(x[a:b], kind, 1, int(ids[a]))
    out = {"id": ids, "score": scores}
    if encode:
        codes = model.encode(x, 1)
        out.update({f"z{j + 1}": codes[:, j] for j in range(codes.shape[1])})
    return out


def score_dataframe(df, model_bytes, id_column="row", columns=None, kind=None, encode=False):
    """A Spark DataFrame of ``id``, ``score`` (and with ``encode`` the codes) for the rows
    of ``df``, scored by the model file ``model_bytes``."""
    model = Model.from_bytes(model_bytes)  # on the driver: check the columns, learn the code width
    types = dict(df.dtypes)
    if types.get(id_column) not in ("bigint", "int", "smallint", "tinyint"):
        raise ValueError(f"--id-column {id_column!r} must be an integer column of row numbers; the columns: {df.dtypes}")
    columns = list(columns or [c for c in df.columns if c != id_column])
    if len(columns) != model.input_dim:
        raise ValueError(f"{len(columns)} feature columns {columns}, but the model takes {model.input_dim}")
    schema = "id long, score double" + "".join(f", z{j + 1} float" for j in range(model.code_dim if encode else 0))
    shared = df.sparkSession.sparkContext.broadcast(model_bytes)

    def score_partition(batches):  # one call per partition: the model is built once
        model = Model.from_bytes(shared.value)
        for batch in batches:
            yield pd.DataFrame(score_batch(model, batch, id_column, columns, kind, encode))

    return df.select(id_column, *columns).mapInPandas(score_partition, schema)


def main(argv=None):
    p = argparse.ArgumentParser(description="Score a Parquet dataset with a model file in Spark (mapInPandas).")
    p.add_argument("model", help="the model file (ae train's .safetensors)")
    p.add_argument("data", help="a Parquet file or folder")
    p.add_argument("output", help="the Parquet folder to write (id, score[, z1..zk])")
    p.add_argument("--id-column", default="row", help="the column of global row numbers 0..n-1 [default: row]")
    p.add_argument("--columns", help="comma-separated feature columns, in the model's order [default: every other column]")
    p.add_argument("--score", dest="kind", help="mse, mae, root, standardized or elbo [default: the model's]")
    p.add_argument("--encode", action="store_true", help="also write the codes z1..zk (ae encode)")
    p.add_argument("--master", help="run here in local mode, e.g. local[4], its workers on this Python [default: spark-submit's master]")
    a = p.parse_args(argv)

    from pyspark.sql import SparkSession

    with open(a.model, "rb") as f:
        model_bytes = f.read()
    builder = SparkSession.builder.appName("ae-score")
    if a.master:  # Spark started here, not by spark-submit: its workers run this Python
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(a.master)
    spark = builder.getOrCreate()
    try:
        columns = a.columns.split(",") if a.columns else None
        scored = score_dataframe(spark.read.parquet(a.data), model_bytes, a.id_column, columns, a.kind, a.encode)
        scored.write.parquet(a.output)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()

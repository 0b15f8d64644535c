#!/usr/bin/env python3
"""Score (or encode) a Parquet dataset with a trained model in Ray Data (`map_batches`).

    python examples/ray_score.py model.safetensors data/ scores/ --actors 4 --blocks 16
    python examples/ray_score.py model.safetensors s3://bucket/data/ s3://bucket/scores/ --address auto

`Scorer` is a callable class, so Ray builds one per actor of the pool (up to --actors,
one CPU each): each actor loads the model once (from the model file's bytes, shipped
with the actor) and scores its batches with one thread. DATA (a Parquet
file or folder) must hold each row's global row number in --id-column: 0, 1, ..., n-1 in
the order `ae score` reads the whole dataset. The variational model's elbo score draws
its samples at that index, so each run of consecutive row numbers is scored with
`row_offset=` its first one, and the scores equal `ae score MODEL DATA --id-column row`
on the whole dataset bit for bit, however Ray splits and orders the rows. OUTPUT is a
Parquet folder of `id` (int64) and `score` (float64), as `ae score -o scores.parquet`
writes them, and with --encode the codes `z1..zk` (float32) as `ae encode` gives them.
Needs ray[data] besides autoencoder.
"""

import argparse

import numpy as np

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


class Scorer:
    """``map_batches``' callable class: one per actor, so the model loads once per actor."""

    def __init__(self, model_bytes, id_column, columns, kind=None, encode=False):
        self.model = Model.from_bytes(model_bytes)
        self.args = (id_column, columns, kind, encode)

    def __call__(self, batch):
        return score_batch(self.model, batch, *self.args)


def score_dataset(ds, model_bytes, id_column="row", columns=None, kind=None, encode=False, actors=2):
    """A Ray Dataset of ``id``, ``score`` (and with ``encode`` the codes) for the rows of
    ``ds``, scored by the model file ``model_bytes`` in a pool of ``actors`` actors."""
    import ray

    model = Model.from_bytes(model_bytes)  # on the driver: check the columns
    names = ds.schema().names
    if id_column not in names:
        raise ValueError(f"no --id-column {id_column!r}; the columns: {names}")
    columns = list(columns or [c for c in names if c != id_column])
    if len(columns) != model.input_dim:
        raise ValueError(f"{len(columns)} feature columns {columns}, but the model takes {model.input_dim}")
    return ds.map_batches(
        Scorer,
        fn_constructor_args=(model_bytes, id_column, columns, kind, encode),
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
        num_cpus=1,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description="Score a Parquet dataset with a model file in Ray Data (map_batches).")
    p.add_argument("model", help="the model file (ae train's .safetensors)")
    p.add_argument("data", help="a Parquet file or folder")
    p.add_argument("output", help="the Parquet folder to write (id, score[, z1..zk])")
    p.add_argument("--id-column", default="row", help="the column of global row numbers 0..n-1 [default: row]")
    p.add_argument("--columns", help="comma-separated feature columns, in the model's order [default: every other column]")
    p.add_argument("--score", dest="kind", help="mse, mae, root, standardized or elbo [default: the model's]")
    p.add_argument("--encode", action="store_true", help="also write the codes z1..zk (ae encode)")
    p.add_argument("--actors", type=int, default=2, help="scoring actors, one CPU each [default: 2]")
    p.add_argument("--blocks", type=int, help="split the rows into this many blocks first: Ray's Parquet reader "
                   "may read a folder of small files as one block, which one actor scores [default: as read]")
    p.add_argument("--address", help="a running Ray cluster (auto: the local one) [default: start a local one]")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local cluster started [default: every core]")
    a = p.parse_args(argv)

    import ray

    with open(a.model, "rb") as f:
        model_bytes = f.read()
    ray.init(address=a.address, num_cpus=None if a.address else a.num_cpus)
    try:
        columns = a.columns.split(",") if a.columns else None
        ds = ray.data.read_parquet(a.data)
        if a.blocks:
            ds = ds.repartition(a.blocks)  # consecutive rows stay together: a block is one run
        score_dataset(ds, model_bytes, a.id_column, columns, a.kind, a.encode, a.actors).write_parquet(a.output)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()

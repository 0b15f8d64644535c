"""Data-parallel fitting from Python, ``fit(X_part, peers=...)``: processes that each
hold rows of their own fit the model one process fits on every row, byte for byte, with
the same micro-batches. Simulated here by threads (each ``fit`` releases the GIL, and
the peers meet at a barrier); over MPI by ``mpirun -n 2`` and ``-n 3`` with mpi4py (which
CI installs; skipped elsewhere without it, saying why), and the same bytes as ``mpirun -n 2
ae train --shard --validation``; processes given the same ``Files`` each read their share
of the rows."""

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from autoencoder import AnomalyDetector, Autoencoder
from conftest import ae_binary


class ThreadPeers:
    """One of ``size`` threads as the processes of a fit: each exchange posts this
    thread's values, waits for every other's, and reads what it receives."""

    def __init__(self, rank, size, shared):
        self.rank, self.size, self.shared = rank, size, shared
        self.calls = 0

    @staticmethod
    def group(size):
        shared = {"slots": [None] * size, "barrier": threading.Barrier(size, timeout=60)}
        return [ThreadPeers(r, size, shared) for r in range(size)]

    def _meet(self, post):
        self.calls += 1
        slots, barrier = self.shared["slots"], self.shared["barrier"]
        slots[self.rank] = post
        barrier.wait()
        posts = list(slots)
        barrier.wait()
        return posts

    def all_gather(self, mine, counts):
        assert mine.ndim == 1 and mine.dtype in (np.float32, np.float64)
        posts = self._meet(mine.copy())
        assert [len(p) for p in posts] == list(counts)
        return np.concatenate(posts)

    def all_to_all(self, send, send_counts, recv_counts):
        assert send.dtype == np.float32 and len(send) == sum(send_counts)
        posts = self._meet((send.copy(), list(send_counts)))
        parts = []
        for p, (values, counts) in enumerate(posts):
            assert counts[self.rank] == recv_counts[p]
            at = sum(counts[: self.rank])
            parts.append(values[at : at + counts[self.rank]])
        return np.concatenate(parts).astype(np.float32)


def fit_in_threads(make, parts, errors=False, each=None, **fit):
    """``make().fit(part, peers=...)`` on each part at once, one thread each (with the
    keywords ``each(rank)`` too); returns the fitted estimators and their peers, in rank
    order (with ``errors``, what each process raised)."""
    group = ThreadPeers.group(len(parts))
    fitted, raised = [None] * len(parts), []

    def run(r):
        try:
            mine = each(r) if each else {}
            fitted[r] = make().fit(parts[r], peers=group[r], **fit, **mine)
        except BaseException as e:  # noqa: BLE001 (reported below)
            raised.append(e)
            if not errors:
                group[r].shared["barrier"].abort()

    threads = [threading.Thread(target=run, args=(r,), name=f"rank {r}") for r in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        return raised
    if raised:
        raise raised[0]
    return fitted, group


def cuts(n, sizes):
    """Row ranges that follow each other, of the given sizes (the last takes the rest)."""
    edges = np.cumsum([0, *sizes[:-1]]).tolist() + [n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


@pytest.mark.parametrize(
    "keywords",
    [
        dict(layers=(4, 2), noise="gaussian:0.1", dropout=0.1, validation_split=0.2),
        dict(layers=(5,), variational=True),
        dict(layers=(4,), code_activation="sigmoid", code_l1=0.01, contractive=0.1, sparsity="0.1:0.5"),
        dict(arch="conv", channels=(3,), layers=(4,), batch_norm=True, activation="relu"),
    ],
    ids=[
        "dense with noise, dropout and a held-out split",
        "variational",
        "the code penalties (sparsity over the batch)",
        "conv with batch norm",
    ],
)
def test_processes_holding_their_rows_fit_the_bytes_of_one(table, keywords):
    if keywords.get("arch") == "conv":
        # Images of 1 × 4 × 4 (a conv model's rows), from the table's values.
        table = np.tile(table, (1, 3))[:, :16].reshape(-1, 1, 4, 4)
    make = lambda: Autoencoder(epochs=3, batch_size=64, threads=1, seed=5, **keywords)
    one = Autoencoder(epochs=3, batch_size=64, threads=1, seed=5, micro_batch=32, **keywords).fit(table)
    want = one.model_.to_bytes()
    for sizes in ([240], [120, 120], [30, 150, 60], [0, 200, 40]):
        parts = [table[c] for c in cuts(len(table), sizes)]
        fitted, group = fit_in_threads(make, parts)
        for r, est in enumerate(fitted):
            assert est.model_.to_bytes() == want, f"process {r} of {sizes} fitted other bytes"
        assert all(p.calls == group[0].calls > 0 for p in group)
        # Each process's codes are those of its rows.
        part = parts[-1]
        np.testing.assert_array_equal(fitted[-1].transform(part), one.transform(part))


def test_a_detector_with_a_validation_set(table):
    val = table[::-1][:80].copy()
    make = lambda: AnomalyDetector(layers=(4, 2), epochs=2, batch_size=64, threads=1, contamination=0.05)
    one = AnomalyDetector(
        layers=(4, 2), epochs=2, batch_size=64, threads=1, contamination=0.05, micro_batch=32
    ).fit(table, validation_data=val)
    parts = [table[c] for c in cuts(len(table), [100, 140])]
    fitted, _ = fit_in_threads(make, parts, validation_data=val)
    for r, det in enumerate(fitted):
        assert det.model_.to_bytes() == one.model_.to_bytes(), f"process {r}"
        assert det.threshold_ == one.threshold_
        assert det.history_["val_loss"] == one.history_["val_loss"]
    np.testing.assert_array_equal(fitted[1].decision_scores_, one.decision_scores_[100:])
    # A process holding no rows fits the same detector and has no rows' scores.
    fitted, _ = fit_in_threads(make, [table[:0], table], validation_data=val)
    assert fitted[0].model_.to_bytes() == one.model_.to_bytes()
    assert fitted[0].decision_scores_.shape == (0,) and fitted[0].labels_.shape == (0,)
    np.testing.assert_array_equal(fitted[1].labels_, one.labels_)


def test_a_validation_set_shared_out_as_the_rows_are(table):
    """With ``shared_validation``, each process passes its part of the validation rows
    (``ae train --shard --validation``): the bytes and validation losses of one process
    holding the whole set, with parts of any sizes, empty ones too."""
    val = table[::-1][:90].copy()
    keywords = dict(layers=(4, 2), epochs=2, batch_size=64, threads=1, noise="gaussian:0.1", variational=True)
    one = Autoencoder(micro_batch=32, **keywords).fit(table, validation_data=val)
    for sizes, vsizes in (([120, 120], [45, 45]), ([30, 150, 60], [0, 20, 70]), ([240, 0], [10, 80])):
        parts = [table[c] for c in cuts(len(table), sizes)]
        vparts = [val[c] for c in cuts(len(val), vsizes)]
        fitted, _ = fit_in_threads(
            lambda: Autoencoder(**keywords),
            parts,
            each=lambda r: dict(validation_data=vparts[r], shared_validation=True),
        )
        for r, est in enumerate(fitted):
            assert est.model_.to_bytes() == one.model_.to_bytes(), f"process {r} of {sizes}, {vsizes}"
            assert est.history_["val_loss"] == one.history_["val_loss"]
    with pytest.raises(ValueError, match="shared_validation says that each of several processes holds its part"):
        Autoencoder(**keywords).fit(table, validation_data=val, shared_validation=True)


def test_one_process_writes_the_checkpoint_and_any_count_resumes_it(table, tmp_path):
    """A callback on process 1 alone stops training after epoch 2: both processes
    stop there, and the process of rank 0 alone writes its checkpoint. Three processes
    resume it, and one alone: each ends with the bytes of the uninterrupted run (the
    issue's mpirun bar, from Python)."""
    keywords = dict(layers=(4, 2), epochs=5, batch_size=64, threads=1, seed=5, validation_split=0.2, noise="gaussian:0.1")
    whole = Autoencoder(micro_batch=32, **keywords).fit(table)
    stop = lambda e, logs: e < 2 or threading.current_thread().name != "rank 1"
    paths = [tmp_path / "rank0.ckpt", tmp_path / "rank1.ckpt"]
    parts = [table[c] for c in cuts(len(table), [120, 120])]
    fitted, _ = fit_in_threads(
        lambda: Autoencoder(callback=stop, **keywords), parts, each=lambda r: dict(checkpoint=paths[r])
    )
    assert [p.exists() for p in paths] == [True, False]
    assert [est.stop_reason_ for est in fitted] == ["interrupted"] * 2
    assert fitted[0].model_.to_bytes() == fitted[1].model_.to_bytes()
    assert len(fitted[0].history_["loss"]) == 2
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(paths[0].read_bytes())
    epochs = []
    parts = [table[c] for c in cuts(len(table), [50, 100, 90])]
    fitted, _ = fit_in_threads(
        lambda: Autoencoder(callback=lambda e, logs: epochs.append(e), **keywords),
        parts,
        each=lambda r: dict(checkpoint=paths[0], resume=True),
    )
    assert sorted(epochs) == [3, 3, 3, 4, 4, 4, 5, 5, 5]
    for r, est in enumerate(fitted):
        assert est.model_.to_bytes() == whole.model_.to_bytes(), f"process {r}"
        assert est.history_["val_loss"] == whole.history_["val_loss"]
    epochs = []
    alone = Autoencoder(micro_batch=32, callback=lambda e, logs: epochs.append(e), **keywords)
    alone.fit(table, checkpoint=copy, resume=True)
    assert epochs == [3, 4, 5]
    assert alone.model_.to_bytes() == whole.model_.to_bytes()


def test_parts_of_other_widths_are_refused_on_every_process(table):
    make = lambda: Autoencoder(layers=(3,), epochs=1, threads=1)
    errors = fit_in_threads(make, [table[:120], table[120:, :5]], errors=True)
    assert len(errors) == 2
    for e in errors:
        assert isinstance(e, ValueError) and "process 1 holds rows of 5 values, but process 0's have 6" in str(e)


def test_a_callback_raising_on_one_process_stops_them_all(table):
    """The exception is raised where the callback raised it; the other process ends
    with the model stopped after that epoch."""

    def fails(e, logs):
        if e == 2 and threading.current_thread().name == "rank 1":
            raise ConnectionError("lost the job's database")

    keywords = dict(layers=(4, 2), epochs=5, batch_size=64, threads=1, seed=5)
    group = ThreadPeers.group(2)
    out = [None, None]

    def run(r):
        try:
            out[r] = Autoencoder(callback=fails, **keywords).fit(table[cuts(240, [100, 140])[r]], peers=group[r])
        except ConnectionError as e:
            out[r] = e

    threads = [threading.Thread(target=run, args=(r,), name=f"rank {r}") for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(out[1], ConnectionError)
    one = Autoencoder(micro_batch=32, callback=lambda e, logs: e < 2, **keywords).fit(table)
    assert out[0].stop_reason_ == "interrupted" and out[0].model_.to_bytes() == one.model_.to_bytes()


def test_ctrl_c_on_one_process_stops_them_all_after_the_epoch():
    """Ctrl-C on one process (here on the main thread, rank 0, sent from rank 1's
    callback by ``_thread.interrupt_main``, after epoch 2 or within a later one) stops
    every process after the same epoch, where aborting within the epoch left the others
    waiting in an exchange: rank 0 raises ``KeyboardInterrupt``, and rank 1 ends with
    the model of one process stopped after that epoch."""
    import _thread

    rng = np.random.default_rng(2)
    X = rng.normal(size=(4000, 8)).astype(np.float32)
    keywords = dict(layers=(16, 4), epochs=40, batch_size=16, threads=1, seed=3)

    def interrupts(e, logs):
        if e == 2 and threading.current_thread().name == "rank 1":
            _thread.interrupt_main()

    group = ThreadPeers.group(2)
    out = [None, None]

    def run(r):
        try:
            out[r] = Autoencoder(callback=interrupts, **keywords).fit(X[r * 2000 : (r + 1) * 2000], peers=group[r])
        except BaseException as e:  # noqa: BLE001 (checked below)
            out[r] = e

    other = threading.Thread(target=run, args=(1,), name="rank 1")
    other.start()
    run(0)  # on the main thread, which sees Ctrl-C
    other.join()
    assert isinstance(out[0], KeyboardInterrupt), out[0]
    assert isinstance(out[1], Autoencoder), out[1]
    stopped = len(out[1].history_["loss"])
    assert out[1].stop_reason_ == "interrupted" and 2 <= stopped < 40
    one = Autoencoder(micro_batch=32, callback=lambda e, logs: e < stopped, **keywords).fit(X)
    assert out[1].model_.to_bytes() == one.model_.to_bytes()


def test_a_process_that_cannot_start_stops_the_others(table, tmp_path):
    """A part refused by the package (a NaN), or a checkpoint one process cannot read:
    that process raises its error, and the others, instead of waiting for it in an
    exchange, raise one naming it."""
    make = lambda: Autoencoder(layers=(3,), epochs=1, threads=1)
    bad = table[120:].copy()
    bad[5, 2] = np.nan
    errors = fit_in_threads(make, [table[:120], bad, table[:0]], errors=True)
    assert len(errors) == 3
    assert sum("X: row 6, column 3 is nan" in str(e) for e in errors) == 1
    others = [e for e in errors if "process 1 could not start the fit" in str(e)]
    assert len(others) == 2 and all(isinstance(e, ValueError) for e in others)
    # One process's checkpoint is missing (processes on machines without a shared folder).
    ck = tmp_path / "run.ckpt"
    Autoencoder(layers=(3,), epochs=2, threads=1, micro_batch=32, callback=lambda e, logs: False).fit(
        table, checkpoint=ck
    )
    paths = [ck, tmp_path / "elsewhere.ckpt"]
    errors = fit_in_threads(
        lambda: Autoencoder(layers=(3,), epochs=2, threads=1),
        [table[:120], table[120:]],
        errors=True,
        each=lambda r: dict(checkpoint=paths[r], resume=True),
    )
    assert sorted(type(e).__name__ for e in errors) == ["FileNotFoundError", "ValueError"]
    assert any("elsewhere.ckpt" in str(e) for e in errors)
    assert any("process 1 could not start the fit" in str(e) for e in errors)
    # One process without its part of a validation set shared out.
    errors = fit_in_threads(
        lambda: Autoencoder(layers=(3,), epochs=1, threads=1),
        [table[:120], table[120:]],
        errors=True,
        each=lambda r: dict(validation_data=table[:10] if r == 0 else None, shared_validation=True),
    )
    assert len(errors) == 2
    assert sum("process 1 could not start the fit" in str(e) for e in errors) == 1
    assert sum("shared_validation says" in str(e) for e in errors) == 1


def test_a_transport_that_fails_calls_its_abort_and_no_process_waits(table):
    """A transport of one's own with an ``abort`` method: when one process's exchange
    raises, ``abort`` is called with a message naming the process and the exchange.
    Here it breaks the threads' barrier, so the other process, waiting in the same
    exchange, raises too, within seconds (without it, it would wait for the barrier's
    60 s and fail)."""

    class Failing(ThreadPeers):
        messages = []

        def all_gather(self, mine, counts):
            if self.rank == 1 and self.calls == 6:
                self.calls += 1
                raise ConnectionError("the link went down")
            return super().all_gather(mine, counts)

        def abort(self, message):
            Failing.messages.append(message)
            self.shared["barrier"].abort()

    shared = {"slots": [None, None], "barrier": threading.Barrier(2, timeout=60)}
    group = [Failing(r, 2, shared) for r in range(2)]
    raised = [None, None]

    def run(r):
        try:
            Autoencoder(layers=(3,), epochs=3, threads=1).fit(table[r * 120 : (r + 1) * 120], peers=group[r])
        except BaseException as e:  # noqa: BLE001 (checked below)
            raised[r] = e

    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert time.monotonic() - start < 30
    assert isinstance(raised[1], ConnectionError) and isinstance(raised[0], threading.BrokenBarrierError), raised
    assert "process 1 of 2 failed in an exchange (all_gather): ConnectionError: the link went down" in Failing.messages[0]
    assert any(m.startswith("autoencoder: process 0 of 2 failed in an exchange") for m in Failing.messages)


class Single:
    rank, size = 0, 1

    def all_gather(self, mine, counts):
        return mine.copy()

    def all_to_all(self, send, send_counts, recv_counts):
        return send.copy()


def test_bad_peers_are_refused(table):
    est = Autoencoder(layers=(3,), epochs=1, threads=1)
    bad = Single()
    bad.rank = 1
    with pytest.raises(ValueError, match="peers.rank must be below peers.size"):
        est.fit(table, peers=bad)
    bad.rank, bad.size = 0, 10**12
    with pytest.raises(ValueError, match="peers.size must be at most 1048576 processes, got 1000000000000"):
        est.fit(table, peers=bad)
    with pytest.raises(ValueError, match="peers.rank must be a non-negative int"):
        est.fit(table, peers=object())

    class NoMethods:
        rank, size = 0, 1

    with pytest.raises(ValueError, match="peers must have a method all_gather"):
        est.fit(table, peers=NoMethods())

    class Raises(Single):
        def all_gather(self, mine, counts):
            raise ConnectionError("the link went down")

    with pytest.raises(ConnectionError, match="the link went down"):
        est.fit(table, peers=Raises())

    class WrongType(Single):
        def all_gather(self, mine, counts):
            return mine.astype(np.float16)

    with pytest.raises(ValueError, match="peers.all_gather must return a 1-D numpy array of 1 f64 values"):
        est.fit(table, peers=WrongType())
    # One process as its own peer fits what it fits alone with the same micro-batches.
    alone = Autoencoder(layers=(3,), epochs=1, threads=1, micro_batch=32).fit(table)
    assert est.fit(table, peers=Single()).model_.to_bytes() == alone.model_.to_bytes()


SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mpi4py import MPI
    from autoencoder import Autoencoder, Files, MPIPeers
    X = np.load(sys.argv[1])
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    V = np.load(sys.argv[3])
    part = X[rank * len(X) // size : (rank + 1) * len(X) // size]
    vpart = V[rank * len(V) // size : (rank + 1) * len(V) // size]
    peers = MPIPeers() if rank % 2 else comm  # both forms
    est = Autoencoder(layers=(4, 2), epochs=3, batch_size=64, threads=1, noise="gaussian:0.1")
    if sys.argv[4:] == ["files"]:
        # Every process names the file, and reads its share of the rows.
        est.fit(Files(sys.argv[1]), peers=peers, validation_data=V)
    else:
        est.fit(part, peers=peers, source=sys.argv[1], validation_data=vpart, shared_validation=True)
    if rank == 0:
        open(sys.argv[2], "wb").write(est.model_.to_bytes())
    """
)


def test_mpi_processes_fit_the_bytes_of_one(table, tmp_path):
    mpirun = shutil.which("mpirun")
    try:
        import mpi4py  # noqa: F401
    except ImportError as e:
        mpirun, reason = None, f"mpi4py is not installed ({e}): pip install mpi4py"
    else:
        reason = "OpenMPI's mpirun is not installed (apt-get install openmpi-bin)"
    if mpirun is None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    np.save(tmp_path / "x.npy", table)
    val = table[::-1][:70].copy()
    np.save(tmp_path / "v.npy", val)
    (tmp_path / "fit.py").write_text(SCRIPT)
    data, vdata = str(tmp_path / "x.npy"), str(tmp_path / "v.npy")
    one = Autoencoder(layers=(4, 2), epochs=3, batch_size=64, threads=1, noise="gaussian:0.1", micro_batch=32)
    want = one.fit(table, source=data, validation_data=val).model_.to_bytes()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    launch = [mpirun, "--oversubscribe", "--bind-to", "none", "-n"]
    for n, how in ((2, "arrays"), (3, "arrays"), (2, "files")):
        out = tmp_path / f"model-{n}-{how}.bin"
        p = subprocess.run(
            [*launch, str(n), sys.executable, str(tmp_path / "fit.py"), data, str(out), vdata, how],
            capture_output=True, text=True, timeout=300, env=env,
        )
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == want, f"mpirun -n {n} fitted other bytes from {how}"
    # `mpirun -n 2 ae train --shard --validation` (ae built with its mpi feature)
    # writes them too: each rank reads its part of the validation file.
    binary = ae_binary()
    if binary is None:
        print("SKIP the comparison with ae: no ae binary")
        return
    flags = ["--layers", "4,2", "--epochs", "3", "--batch-size", "64", "--noise", "gaussian:0.1", "--threads", "1",
             "--validation", vdata]
    out = tmp_path / "ae.bin"
    p = subprocess.run(
        [*launch, "2", binary, "train", data, *flags, "--shard", "--no-plots", "-q", "-o", str(out)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    if "built without MPI" in p.stderr and not os.environ.get("CI"):
        print(f"SKIP the comparison with ae: {p.stderr.strip()}")
        return
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == want, "mpirun ae train --shard wrote other bytes than Python's processes"


def test_processes_fitting_on_files_each_read_their_share(tmp_path):
    """``fit(Files(...), peers=...)``: every process passes the same files and reads
    its share of the rows (``ae train --shard``): read whole, the bytes of one process
    on every row; streamed, each process holds its share of every window, the bytes of
    one process streaming in windows as large as theirs together."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from autoencoder import Files

    rng = np.random.default_rng(5)
    z = rng.normal(size=(500, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] - z[:, 1], rng.normal(size=500)]).astype(np.float32)
    pq.write_table(pa.table({f"f{j}": X[:, j] for j in range(4)}), tmp_path / "t.parquet", row_group_size=40)
    keywords = dict(layers=(6, 2), epochs=3, batch_size=32, seed=9, threads=1)

    def budget_for(window_rows, cols=4, group=40):
        return (128 << 20) + 3 * group * cols * 4 + window_rows * (cols * 4 + 8)

    one = Autoencoder(micro_batch=32, **keywords).fit(Files(tmp_path / "t.parquet"))
    for size in (2, 3):
        fitted, group = fit_in_threads(lambda: Autoencoder(**keywords), [Files(tmp_path / "t.parquet")] * size)
        for est in fitted:
            assert est.model_.to_bytes() == one.model_.to_bytes()
            assert list(est.feature_names_in_) == ["f0", "f1", "f2", "f3"]
    # A detector's processes each score their own rows of the files.
    det = dict(contamination=0.1, **keywords)
    alone = AnomalyDetector(micro_batch=32, **det).fit(Files(tmp_path / "t.parquet"))
    fitted, _ = fit_in_threads(lambda: AnomalyDetector(**det), [Files(tmp_path / "t.parquet")] * 3)
    assert np.array_equal(np.concatenate([d.decision_scores_ for d in fitted]), alone.decision_scores_)
    assert np.concatenate([d.labels_ for d in fitted]).tolist() == alone.labels_.tolist()
    assert [len(d.decision_scores_) for d in fitted] == [166, 167, 167]
    streamed_one = Autoencoder(micro_batch=32, **keywords).fit(
        Files(tmp_path / "t.parquet", stream=True, memory_budget=budget_for(200))
    )
    assert streamed_one.streamed_ == {"rows": 500, "window_rows": 200}
    assert streamed_one.model_.to_bytes() != one.model_.to_bytes()
    shares = Files(tmp_path / "t.parquet", stream=True, memory_budget=budget_for(100))
    fitted, _ = fit_in_threads(lambda: Autoencoder(**keywords), [shares, shares])
    for est in fitted:
        assert est.streamed_ == {"rows": 500, "window_rows": 200}
        assert est.model_.to_bytes() == streamed_one.model_.to_bytes()
    # Every process streams if any does: one asks to (or is over its budget), the
    # other does not, and both stream as one.
    either = [shares, Files(tmp_path / "t.parquet", memory_budget=budget_for(100))]
    fitted, _ = fit_in_threads(lambda: Autoencoder(**keywords), either)
    for est in fitted:
        assert est.streamed_ == {"rows": 500, "window_rows": 200}
        assert est.model_.to_bytes() == streamed_one.model_.to_bytes()
    # A process whose files cannot be read stops the others.
    raised = fit_in_threads(
        lambda: Autoencoder(**keywords),
        [Files(tmp_path / "t.parquet"), Files(tmp_path / "missing.parquet")],
        errors=True,
    )
    messages = sorted(str(e) for e in raised)
    assert len(messages) == 2 and any("missing.parquet" in m for m in messages), messages
    assert any("process 1 could not start the fit" in m for m in messages), messages


def test_processes_on_text_columns_and_rows_left_out_fit_the_bytes_of_one(tmp_path):
    """``Files(categorical=...)`` with ``missing="drop"`` shared among processes: every
    process encodes the text column with the values of every row (not of its share) and
    leaves out the same rows, so that processes reading their share, whole or streamed,
    fit one process's bytes; arrays with NaN rows left out by each process on its part
    do too. A detector's processes score their share of the rows kept."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from autoencoder import Files

    rng = np.random.default_rng(8)
    z = rng.normal(size=(400, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] - z[:, 1]]).astype(np.float32)
    X[[5, 6, 250, 399], [0, 2, 1, 0]] = np.nan
    # The last rows alone hold "Pune": a process's share does not see every value.
    city = ["Oslo", "Lima"] * 190 + ["Pune"] * 20
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "city": city}), tmp_path / "t.parquet",
                   row_group_size=40)
    keywords = dict(layers=(6, 2), epochs=2, batch_size=32, seed=2, threads=1, missing="drop")

    def files(**kw):
        return Files(tmp_path / "t.parquet", categorical="city", **kw)

    one = Autoencoder(micro_batch=32, **keywords).fit(files())
    assert (one.dropped_rows_, one.model_.input_dim) == (4, 6)
    fitted, _ = fit_in_threads(lambda: Autoencoder(**keywords), [files()] * 3)
    for est in fitted:
        assert est.model_.to_bytes() == one.model_.to_bytes()
        assert est.dropped_rows_ == 4
    # Windows of `rows` rows of 6 features (the 3 numbers and the 3 values' columns).
    def budget(rows):
        return (128 << 20) + 3 * 40 * 6 * 4 + rows * (6 * 4 + 8)

    streamed_one = Autoencoder(micro_batch=32, **keywords).fit(files(stream=True, memory_budget=budget(200)))
    assert streamed_one.streamed_ == {"rows": 396, "window_rows": 200}
    fitted, _ = fit_in_threads(lambda: Autoencoder(**keywords), [files(stream=True, memory_budget=budget(100))] * 2)
    for est in fitted:
        assert est.streamed_ == streamed_one.streamed_
        assert est.model_.to_bytes() == streamed_one.model_.to_bytes()
    det = dict(contamination=0.1, **keywords)
    alone = AnomalyDetector(micro_batch=32, **det).fit(files())
    fitted, _ = fit_in_threads(lambda: AnomalyDetector(**det), [files()] * 2)
    assert np.array_equal(np.concatenate([d.decision_scores_ for d in fitted]), alone.decision_scores_)
    assert len(alone.decision_scores_) == 396
    # Arrays: each process leaves out its own rows with a NaN.
    numbers = dict(keywords, layers=(4, 2))
    whole = Autoencoder(micro_batch=32, **numbers).fit(X)
    fitted, _ = fit_in_threads(lambda: Autoencoder(**numbers), [X[part] for part in cuts(400, [100, 200, 100])])
    assert [est.dropped_rows_ for est in fitted] == [2, 1, 1]
    for est in fitted:
        assert est.model_.to_bytes() == whole.model_.to_bytes()


FAILING = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mpi4py import MPI
    from autoencoder import Autoencoder, MPIPeers

    class Failing:
        '''COMM_WORLD, but process 1's fourth exchange runs out of memory.'''
        def __init__(self, comm):
            self.comm, self.calls = comm, 0
        def __getattr__(self, name):
            return getattr(self.comm, name)
        def Allgatherv(self, *args):
            self.calls += 1
            if self.comm.Get_rank() == 1 and self.calls == 4:
                raise MemoryError("no room for the gathered values")
            return self.comm.Allgatherv(*args)

    X = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
    comm = MPI.COMM_WORLD
    part = X[comm.rank * 200 : (comm.rank + 1) * 200]
    Autoencoder(layers=(3,), epochs=50, threads=1).fit(part, peers=MPIPeers(Failing(comm)))
    print("finished", flush=True)
    """
)


def test_an_mpi_process_failing_in_an_exchange_ends_the_job(tmp_path):
    """A process whose exchange raises (here: no memory for the gathered values) writes
    the exception, naming itself, and aborts the job, where the other would otherwise
    wait for it for ever: the job ends within seconds, failed, and no process finishes."""
    mpirun = shutil.which("mpirun")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpirun = None
    if mpirun is None:
        if os.environ.get("CI"):
            pytest.fail("mpirun and mpi4py are needed")
        pytest.skip("mpirun or mpi4py is not installed")
    (tmp_path / "fail.py").write_text(FAILING)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.run(
        [mpirun, "--oversubscribe", "--bind-to", "none", "-n", "2", sys.executable, str(tmp_path / "fail.py")],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert p.returncode != 0
    assert "process 1 of 2 failed in an exchange (all_gather): MemoryError: no room for the gathered values" in p.stderr
    assert "finished" not in p.stdout

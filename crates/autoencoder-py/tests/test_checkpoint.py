"""Checkpoints from Python, ``fit(..., checkpoint=PATH, resume=True)``: a run stopped,
failed or killed goes on from its last checkpoint to the uninterrupted run's bytes, at
another thread count; ``ae train --resume`` takes the package's checkpoints and the
package the command's; what does not fit the checkpoint is refused, naming it."""

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autoencoder import AnomalyDetector, Autoencoder

KEYWORDS = dict(layers=(4, 2), epochs=6, batch_size=64, seed=3, validation_split=0.2, noise="gaussian:0.1", dropout=0.1)


def stop_after(epoch):
    """A callback that stops training after ``epoch``."""
    return lambda e, logs: e < epoch


class Epochs(list):
    """A callback that keeps the epochs it sees: a resumed run starts after its
    checkpoint's (a run started afresh would also reach the same bytes)."""

    def __call__(self, epoch, logs):
        self.append(epoch)


def test_a_stopped_run_resumes_to_the_uninterrupted_runs_bytes(table, tmp_path):
    whole = Autoencoder(threads=1, **KEYWORDS).fit(table)
    ck = tmp_path / "run.ckpt"
    stopped = Autoencoder(threads=1, callback=stop_after(2), **KEYWORDS).fit(table, checkpoint=ck)
    assert stopped.stop_reason_ == "interrupted" and len(stopped.history_["loss"]) == 2
    assert stopped.model_.to_bytes() != whole.model_.to_bytes()
    # Another thread count, and a path as str: the same bytes and history.
    seen = Epochs()
    resumed = Autoencoder(threads=2, callback=seen, **KEYWORDS).fit(table, checkpoint=str(ck), resume=True)
    assert seen == [3, 4, 5, 6]
    assert resumed.model_.to_bytes() == whole.model_.to_bytes()
    for key in ("loss", "val_loss", "lr"):
        assert resumed.history_[key] == whole.history_[key], key
    assert resumed.stop_reason_ == whole.stop_reason_


def test_every_few_epochs_and_after_an_exception(table, tmp_path):
    """``checkpoint_every=2`` writes after epochs 2 and 4; an exception raised by the
    callback after epoch 3 leaves that epoch's checkpoint too, and resumes. (A
    detector without ``trim``: with it, the first pass writes none.)"""
    make = lambda **kw: AnomalyDetector(threads=1, contamination=0.05, trim=0, **KEYWORDS, **kw)
    whole = make().fit(table)

    def fails(e, logs):
        if e == 3:
            raise ConnectionError("the job's node went away")

    ck = tmp_path / "run.ckpt"
    with pytest.raises(ConnectionError, match="went away"):
        make(callback=fails).fit(table, checkpoint=ck, checkpoint_every=2)
    seen = Epochs()
    resumed = make(callback=seen).fit(table, checkpoint=ck, resume=True)
    assert seen[0] == 4  # (the detector trains for at least min_steps)
    assert resumed.model_.to_bytes() == whole.model_.to_bytes()
    assert resumed.threshold_ == whole.threshold_
    np.testing.assert_array_equal(resumed.labels_, whole.labels_)


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from autoencoder import Autoencoder

    def die(epoch, logs):
        # SIGKILL: no handler runs, nothing is flushed; the checkpoint of epoch 24 is
        # the last one written (an epoch's is written after its callback).
        if epoch == 25:
            os.kill(os.getpid(), signal.SIGKILL)

    X = np.load(sys.argv[1])
    Autoencoder(layers=(32, 8), epochs=60, batch_size=32, seed=1, threads=1, callback=die).fit(
        X, checkpoint=sys.argv[2], checkpoint_every=1
    )
    """
)


def test_a_killed_process_resumes_from_its_last_checkpoint(tmp_path):
    """A process killed by SIGKILL after epoch 25 (it kills itself, so that the moment
    does not depend on the machine's speed): its last checkpoint resumes at epoch 25 to
    the uninterrupted run's bytes."""
    X = np.random.default_rng(2).normal(size=(2000, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "run.py").write_text(KILLED)
    ck = tmp_path / "run.ckpt"
    p = subprocess.run([sys.executable, tmp_path / "run.py", tmp_path / "x.npy", ck], timeout=300)
    assert p.returncode == -signal.SIGKILL
    keywords = dict(layers=(32, 8), epochs=60, batch_size=32, seed=1, threads=1)
    seen = Epochs()
    resumed = Autoencoder(callback=seen, **keywords).fit(X, checkpoint=ck, resume=True)
    assert seen == list(range(25, 61)) and len(resumed.history_["loss"]) == 60
    whole = Autoencoder(**keywords).fit(X)
    assert resumed.model_.to_bytes() == whole.model_.to_bytes()


def test_the_command_resumes_the_packages_checkpoints_and_back(ae, table, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, table)
    keywords = dict(layers=(8, 3), epochs=4, seed=5, threads=1)
    whole = Autoencoder(**keywords).fit(table, source=x)
    # The package stops after epoch 2; ae train goes on.
    Autoencoder(callback=stop_after(2), **keywords).fit(table, source=x, checkpoint=tmp_path / "py.ckpt")
    ae("train", x, "--resume", tmp_path / "py.ckpt", "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    assert (tmp_path / "cli.safetensors").read_bytes() == whole.model_.to_bytes()
    # ae train writes a checkpoint after epoch 2; the package goes on.
    ae("train", x, "--layers", "8,3", "--epochs", 4, "--seed", 5, "--threads", 1,
       "--checkpoint", tmp_path / "cli.ckpt", "--checkpoint-every", 2,
       "-o", tmp_path / "other.safetensors", "--no-plots", "-q")
    seen = Epochs()
    resumed = Autoencoder(callback=seen, **keywords).fit(table, source=x, checkpoint=tmp_path / "cli.ckpt", resume=True)
    assert seen == [3, 4]
    assert resumed.model_.to_bytes() == whole.model_.to_bytes()


def test_what_does_not_fit_the_checkpoint_is_refused(table, tmp_path):
    ck = tmp_path / "run.ckpt"
    Autoencoder(threads=1, callback=stop_after(2), **KEYWORDS).fit(table, checkpoint=ck)
    before = ck.read_bytes()
    other = dict(KEYWORDS, epochs=8)
    with pytest.raises(ValueError, match=r"other settings than these \(epochs: the checkpoint's 6, these 8\)"):
        Autoencoder(threads=1, **other).fit(table, checkpoint=ck, resume=True)
    with pytest.raises(ValueError, match="made on other data"):
        Autoencoder(threads=1, **KEYWORDS).fit(table[:200], checkpoint=ck, resume=True)
    with pytest.raises(ValueError, match="resume needs the checkpoint to resume from: give checkpoint=PATH"):
        Autoencoder(threads=1, **KEYWORDS).fit(table, resume=True)
    with pytest.raises(ValueError, match="checkpoint_every must be a whole number ≥ 0, got -1"):
        Autoencoder(threads=1, **KEYWORDS).fit(table, checkpoint=ck, checkpoint_every=-1)
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        Autoencoder(threads=1, **KEYWORDS).fit(table, checkpoint=tmp_path / "nothing.ckpt", resume=True)
    # A model file is no checkpoint.
    model = tmp_path / "m.safetensors"
    Autoencoder(threads=1, **KEYWORDS).fit(table).save(model)
    with pytest.raises(ValueError, match="m.safetensors"):
        Autoencoder(threads=1, **KEYWORDS).fit(table, checkpoint=model, resume=True)
    # A warm start is not a resume.
    warm = Autoencoder(threads=1, warm_start=True, **KEYWORDS).fit(table)
    with pytest.raises(ValueError, match="starts from its checkpoint"):
        warm.fit(table, checkpoint=ck, resume=True)
    # Nothing refused wrote the checkpoint.
    assert ck.read_bytes() == before
    # A checkpoint that cannot be written is refused before training.
    with pytest.raises(OSError, match="no-such-folder"):
        Autoencoder(threads=1, callback=fails_if_called, **KEYWORDS).fit(table, checkpoint=tmp_path / "no-such-folder" / "c")


def fails_if_called(e, logs):
    raise AssertionError("training ran")

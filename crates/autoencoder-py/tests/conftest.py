"""Shared fixtures: the `ae` binary the Python package is compared with, and small
generated data."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]


def ae_binary():
    """`ae` from $AE_BIN, else the workspace's release build, else its debug build."""
    env = os.environ.get("AE_BIN")
    if env:
        return env
    for p in (ROOT / "target" / "release" / "ae", ROOT / "target" / "debug" / "ae"):
        if p.exists():
            return str(p)
    return shutil.which("ae")


@pytest.fixture(scope="session")
def ae():
    """Run `ae` with arguments; returns the completed process (fails the test on a
    non-zero exit)."""
    binary = ae_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("no ae binary: build it with cargo build --release (or set AE_BIN)")
        pytest.skip("no ae binary: build it with cargo build --release (or set AE_BIN)")

    def run(*args, check=True):
        p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"ae {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return p

    return run


@pytest.fixture
def table():
    """A 240 × 6 table with negative values and a few planted outliers (the data-driven
    defaults then choose z-scores and a linear output)."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=(240, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] + z[:, 1], z[:, 0] - z[:, 1], 2 * z[:, 0], rng.normal(size=240)])
    X[:6] += 6.0
    return X.astype(np.float32)


@pytest.fixture
def images():
    """96 images of 1 × 8 × 8 in [0, 1]: bright squares at random places."""
    rng = np.random.default_rng(3)
    x = np.zeros((96, 1, 8, 8), dtype=np.float32)
    for i in range(96):
        r, c = rng.integers(0, 5, size=2)
        x[i, 0, r : r + 3, c : c + 3] = rng.uniform(0.5, 1.0)
    return x


def bits(a):
    """The array's bytes, for bit-for-bit comparisons."""
    a = np.ascontiguousarray(a)
    return a.dtype.str, a.shape, a.tobytes()

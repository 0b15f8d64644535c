"""How good a representation is as features: the probes of ``ae evaluate --probe``.

Each function takes numpy arrays (or anything :func:`numpy.asarray` reads): rows as
float32, labels as integers. All are deterministic; k-means is seeded.

>>> import numpy as np
>>> from autoencoder import probe
>>> X = np.array([[0.0], [0.1], [5.0], [5.1]]); y = np.array([0, 0, 1, 1])
>>> probe.knn_accuracy(X, y, X, y, k=1)
1.0
>>> probe.adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0])
1.0
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._convert import as_rows, whole

__all__ = ["probe", "knn_accuracy", "logistic_accuracy", "kmeans", "adjusted_rand_index", "normalized_mutual_info"]


def _labels(y, what):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{what}: expected one label per row (1-D), got shape {y.shape}")
    if y.dtype.kind not in "iub":
        # Text or float labels: their classes, in sorted order.
        _, y = np.unique(y, return_inverse=True)
    return np.ascontiguousarray(y, dtype=np.int64)


def _pair(X_train, y_train, X_test, y_test):
    a, _ = as_rows(X_train, "X_train", image=False)
    b, _ = as_rows(X_test, "X_test", image=False)
    ya, yb = np.asarray(y_train), np.asarray(y_test)
    for what, y, x, rows in (("y_train", ya, "X_train", a), ("y_test", yb, "X_test", b)):
        if y.ndim == 1 and len(y) != len(rows):
            raise ValueError(f"{what}: {len(y)} labels for the {len(rows)} rows of {x}; expected one label per row")
    if ya.dtype.kind not in "iub" or yb.dtype.kind not in "iub":
        # Map both labelings through one set of classes.
        classes = np.unique(np.concatenate([ya.astype(str), yb.astype(str)]))
        ya, yb = np.searchsorted(classes, ya.astype(str)), np.searchsorted(classes, yb.astype(str))
    return a, _labels(ya, "y_train"), b, _labels(yb, "y_test")


def probe(X_train, y_train, X_test, y_test, *, seed=0, threads=0) -> dict:
    """Every probe: ``knn_euclidean`` and ``knn_cosine`` (5 neighbours), ``logistic``
    (L2, C = 1) — test accuracies of classifiers trained on the training rows — and
    ``kmeans_ari``, ``kmeans_nmi``: k-means of the test rows (k = their classes)
    against their labels."""
    return _core.probe(*_pair(X_train, y_train, X_test, y_test), seed=whole(seed, "seed"), threads=threads)


def knn_accuracy(X_train, y_train, X_test, y_test, *, k=5, metric="euclidean", threads=0) -> float:
    """Test accuracy of the ``k``-nearest-neighbour classifier (uniform votes; ties to the
    smallest label), ``metric`` ``"euclidean"`` or ``"cosine"``."""
    return _core.knn_accuracy(*_pair(X_train, y_train, X_test, y_test), k=whole(k, "k"), metric=metric, threads=threads)


def logistic_accuracy(X_train, y_train, X_test, y_test, *, C=1.0, max_iter=1000) -> float:
    """Test accuracy of a multinomial logistic regression, L2 penalty with
    scikit-learn's ``C``, fitted by L-BFGS."""
    return _core.logistic_accuracy(*_pair(X_train, y_train, X_test, y_test), c=C, max_iter=whole(max_iter, "max_iter"))


def kmeans(X, k, *, seed=0) -> np.ndarray:
    """Each row's cluster: k-means++ seeding from ``seed``, then Lloyd's iterations."""
    X, _ = as_rows(X, image=False)
    return _core.kmeans(X, whole(k, "k"), whole(seed, "seed"))


def adjusted_rand_index(a, b) -> float:
    """The adjusted Rand index of two labelings of the same rows."""
    return _core.adjusted_rand_index(_labels(a, "a"), _labels(b, "b"))


def normalized_mutual_info(a, b) -> float:
    """The normalised mutual information of two labelings (arithmetic mean of the
    entropies, as scikit-learn's default)."""
    return _core.normalized_mutual_info(_labels(a, "a"), _labels(b, "b"))

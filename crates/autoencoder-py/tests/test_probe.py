"""The representation probes against scikit-learn on small fixed data: the same
accuracies for kNN and logistic regression, the same ARI and NMI."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier

from autoencoder import probe


@pytest.fixture(scope="module")
def classes():
    """Six classes in 20 continuous features (no ties in distance), split 600/400."""
    X, y = make_classification(n_samples=1000, n_features=20, n_informative=8, n_classes=6, n_clusters_per_class=1,
                               class_sep=1.0, random_state=4)
    X = X.astype(np.float32)
    return X[:600], y[:600], X[600:], y[600:]


@pytest.mark.parametrize("k", [1, 5, 9])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_accuracy_is_scikit_learns(classes, k, metric):
    Xa, ya, Xb, yb = classes
    ours = probe.knn_accuracy(Xa, ya, Xb, yb, k=k, metric=metric)
    theirs = KNeighborsClassifier(k, metric=metric, algorithm="brute").fit(Xa, ya).score(Xb, yb)
    assert ours == theirs
    assert 0.3 < ours < 1.0  # neither trivial nor perfect, so a wrong probe would show


@pytest.mark.parametrize("C", [0.01, 1.0])
def test_logistic_accuracy_is_scikit_learns(classes, C):
    Xa, ya, Xb, yb = classes
    ours = probe.logistic_accuracy(Xa, ya, Xb, yb, C=C)
    theirs = LogisticRegression(C=C, max_iter=10000, tol=1e-10).fit(Xa, ya).score(Xb, yb)
    assert ours == theirs


def test_logistic_on_digits_is_scikit_learns():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    ours = probe.logistic_accuracy(X[:1000], y[:1000], X[1000:], y[1000:])
    theirs = LogisticRegression(max_iter=10000, tol=1e-10).fit(X[:1000], y[:1000]).score(X[1000:], y[1000:])
    assert ours == theirs


def test_ari_and_nmi_are_scikit_learns():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=300)
    b = np.where(rng.uniform(size=300) < 0.6, a, rng.integers(0, 7, size=300))
    for x, y in [(a, b), (a, a), (a, rng.integers(0, 3, size=300)), (np.zeros(10, int), np.arange(10))]:
        assert probe.adjusted_rand_index(x, y) == pytest.approx(adjusted_rand_score(x, y), abs=1e-12)
        assert probe.normalized_mutual_info(x, y) == pytest.approx(normalized_mutual_info_score(x, y), abs=1e-12)


def test_kmeans_and_the_whole_probe(classes):
    Xa, ya, Xb, yb = classes
    out = probe.probe(Xa, ya, Xb, yb, seed=1)
    assert set(out) == {"knn_euclidean", "knn_cosine", "logistic", "kmeans_ari", "kmeans_nmi"}
    assert out["knn_euclidean"] == probe.knn_accuracy(Xa, ya, Xb, yb)
    clusters = probe.kmeans(Xb, 6, seed=1)
    assert out["kmeans_ari"] == probe.adjusted_rand_index(yb, clusters)
    assert (clusters == probe.kmeans(Xb, 6, seed=1)).all()
    # Text labels are mapped to classes.
    names = np.array(["abcdef"[i] for i in ya]), np.array(["abcdef"[i] for i in yb])
    assert probe.knn_accuracy(Xa, names[0], Xb, names[1]) == out["knn_euclidean"]


def test_bad_input_raises_value_error(classes):
    Xa, ya, Xb, yb = classes
    with pytest.raises(ValueError, match=r"y_train: 10 labels for the \d+ rows of X_train; expected one label per row"):
        probe.knn_accuracy(Xa, ya[:10], Xb, yb)
    with pytest.raises(ValueError, match=r"y_test: 3 labels for the \d+ rows of X_test"):
        probe.probe(Xa, ya, Xb, yb[:3])
    # Counts and seeds are whole numbers ≥ 0, a ValueError naming them (a negative one
    # was pyo3's OverflowError, a float a TypeError).
    for call, shown in [(lambda: probe.knn_accuracy(Xa, ya, Xb, yb, k=-1), "k"),
                        (lambda: probe.knn_accuracy(Xa, ya, Xb, yb, k=2.5), "k"),
                        (lambda: probe.probe(Xa, ya, Xb, yb, seed=-1), "seed"),
                        (lambda: probe.kmeans(Xb, 3, seed=1.0), "seed"),
                        (lambda: probe.logistic_accuracy(Xa, ya, Xb, yb, max_iter=-5), "max_iter")]:
        with pytest.raises(ValueError, match=rf"^{shown} must be a whole number ≥ 0, got "):
            call()
    with pytest.raises(ValueError, match="threads must be a whole number from 0"):
        probe.probe(Xa, ya, Xb, yb, threads=-1)
    with pytest.raises(ValueError, match="metric"):
        probe.knn_accuracy(Xa, ya, Xb, yb, metric="manhattan")
    with pytest.raises(ValueError, match="two classes"):
        probe.logistic_accuracy(Xa, np.zeros(600, int), Xb, yb)
